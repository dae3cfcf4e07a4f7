/**
 * The SFTP destination kind: files on an SSH server (an agency's or a partner's), with the server's host
 * key checked. The implementation (and the ssh2 module) is loaded when a destination is first made.
 */
import { posix } from 'node:path';
import { checkRelativePath } from '../folder';
import { bool, flag, text, type DestinationConfig, type DestinationKind } from '../kind';
import { DeliverError, type Destination } from '../types';

type Implementation = typeof import('./destination');

function implementation(): Implementation {
  try {
    // loaded on first use: the package works without the modules of kinds nobody uses
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./destination') as Implementation;
  } catch (e) {
    throw new DeliverError('ECONFIG', `The sftp destination is not available in this installation: ${(e as Error).message}`, false, { cause: e });
  }
}

/** The base path as the destination joins locations to it ('' for the login folder). */
function basePathOf(c: DestinationConfig): string {
  const base = text(c.basePath);
  const normal = base === '' ? '' : posix.normalize(base).replace(/(.)\/+$/, '$1');
  return normal === '.' ? '' : normal;
}

export const sftp: DestinationKind = {
  kind: 'sftp',
  settings: { template: '', host: '', port: 22, user: '', hostKey: '', insecureSkipHostKey: false, basePath: '', fsync: false },
  secrets: { password: 'password', privateKey: 'password', passphrase: 'password' },
  place: (c) => ({
    kind: 'sftp', host: text(c.host).toLowerCase(), port: String(Number(text(c.port) || 22)), user: text(c.user), basePath: text(c.basePath),
    hostKey: text(c.hostKey), insecureSkipHostKey: flag(c.insecureSkipHostKey, false),
  }),
  // host, port, user (a relative base path is the user's) and the base path, normalized as the destination does
  target: (c) => {
    const base = basePathOf(c);
    const port = text(c.port) === '' ? 22 : Number(c.port);
    const user = text(c.user ?? c.username);
    return `sftp://${encodeURIComponent(user)}@${text(c.host).toLowerCase()}:${port}${base.startsWith('/') ? '' : '/~/'}${base}`;
  },
  templates: (c) => ({ context: 'path', location: String(c.template ?? ''), removeAtLocation: true, metadata: {} }),
  create: (c): Destination =>
    implementation().createSftpDestination({ ...c, fsync: bool(c.fsync, false, 'fsync'), insecureSkipHostKey: bool(c.insecureSkipHostKey, false, 'insecureSkipHostKey') }),
  preview: {
    settings: ['template', 'host', 'port', 'basePath'],
    resolve: (_c, rendered) => checkRelativePath(rendered),
    where: (c, location) => {
      const host = String(c.host || '?');
      const port = c.port && String(c.port) !== '22' ? `:${String(c.port)}` : '';
      return `sftp://${host}${port}${posix.join('/', String(c.basePath || '.'), location).replace(/^\/\.\//, '/')}`;
    },
  },
};
