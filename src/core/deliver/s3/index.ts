/**
 * The S3 destination kind: objects in an S3 bucket or an S3-compatible store (MinIO, Ceph, Wasabi…),
 * signed with SigV4; large files in multipart uploads of bounded memory. The implementation is loaded when
 * a destination is first made.
 */
import { checkRelativePath } from '../folder';
import { bool, flag, placeOf, text, type DestinationConfig, type DestinationKind } from '../kind';
import { DeliverError, type Destination } from '../types';

type Implementation = typeof import('./destination');

function implementation(): Implementation {
  try {
    // loaded on first use: the package works without the modules of kinds nobody uses
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./destination') as Implementation;
  } catch (e) {
    throw new DeliverError('ECONFIG', `The s3 destination is not available in this installation: ${(e as Error).message}`, false, { cause: e });
  }
}

/** The part size (MB) of multipart uploads: empty for the default (8), else a number from 5 to 512. */
function partSizeOf(v: unknown): number | undefined {
  if (v === undefined || v === null || text(v) === '') return undefined;
  const n = Number(text(v));
  if (!Number.isFinite(n) || n < 5 || n > 512) throw new DeliverError('ECONFIG', `The part size must be a number of megabytes from 5 to 512, not "${text(v).slice(0, 20)}"`);
  return n;
}

/** A storage class as S3 names them (STANDARD, STANDARD_IA, GLACIER_IR, …); it is sent as a header. */
function storageClassOf(v: unknown): string | undefined {
  const t = text(v);
  if (t === '') return undefined;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(t)) throw new DeliverError('ECONFIG', `"${t.slice(0, 40)}" is not a storage class (such as STANDARD, STANDARD_IA or GLACIER_IR)`);
  return t;
}

/** The endpoint, from the region when it is not set, as a place (origin and path). */
function endpointOf(c: DestinationConfig): string {
  const endpoint = text(c.endpoint) || `https://s3.${text(c.region) || 'us-east-1'}.amazonaws.com`;
  try {
    const u = new URL(endpoint);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return endpoint; // an invalid endpoint is refused when the destination is made
  }
}

export const s3: DestinationKind = {
  kind: 's3',
  settings: { template: '', endpoint: '', region: 'us-east-1', bucket: '', keyPrefix: '', forcePathStyle: false, partSizeMb: 8, storageClass: '' },
  secrets: { accessKeyId: 'text', secretAccessKey: 'password', sessionToken: 'password' },
  place: (c, k) => ({
    kind: 's3', endpoint: text(c.endpoint) ? placeOf(c.endpoint) : '', region: text(c.region), bucket: text(c.bucket),
    forcePathStyle: flag(c.forcePathStyle, false), accessKeyId: text(k.accessKeyId),
  }),
  // endpoint (from the region when not set), bucket and key prefix; not the part size or the storage class
  target: (c) => `s3:${endpointOf(c)}/${text(c.bucket)}/${String(c.keyPrefix ?? '')}`,
  templates: (c) => ({ context: 'path', location: String(c.template ?? ''), removeAtLocation: true, metadata: {} }),
  create: (c): Destination => {
    const config = {
      ...c,
      forcePathStyle: bool(c.forcePathStyle, false, 'forcePathStyle'),
      partSizeMb: partSizeOf(c.partSizeMb),
      storageClass: storageClassOf(c.storageClass),
      sessionToken: text(c.sessionToken) || undefined,
    };
    return implementation().createS3Destination(config as never);
  },
  preview: {
    settings: ['template', 'bucket', 'keyPrefix'],
    resolve: (c, rendered) => `${String(c.keyPrefix ?? '')}${checkRelativePath(rendered)}`,
    where: (c, location) => `s3://${String(c.bucket || '?')}/${location}`,
  },
};
