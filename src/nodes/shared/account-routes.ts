/**
 * The account's admin endpoints for the editor: Test connection, the library tree, custom field names and
 * the names of picked ids. Each works from the deployed account (GET, by id) or from a dialog's unsaved
 * settings (POST, as Test connection does), within the rules on secrets of form.ts: a stored secret or an
 * `${ENV}` value goes only where it was deployed to go, else it must be typed again.
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { PhotoShelterClient, isId } from '../../photoshelter';
import {
  AccountConfigError,
  browseLevel,
  checkConnection,
  customFieldNames,
  resolveAccount,
  scopeNames,
  testConnection,
  type AccountConfig,
  type AccountCredentials,
} from '../../core/account';
import { describeError } from './errors';
import type { AccountNode } from './types';
import { adminGuards, answerError, dialogValues, type DialogSpec } from './form';
import { refreshTokenFile, settingsKey, withKeptRefreshToken } from './tokens';

const NS = 'photoshelter-account';

type Body = Record<string, unknown>;
/** What a picker asks with a client: the body of the request, and the signal of its deadline. */
type Ask<T> = (client: PhotoShelterClient, body: Body, signal: AbortSignal) => Promise<T>;

export function registerAccountRoutes(RED: NodeAPI, spec: DialogSpec): void {
  const bodyOf = (req: Request): Body => (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Body;

  function fail(res: Response, e: unknown, scrub: (t: string) => string = (t) => t): void {
    if (!(e instanceof AccountConfigError)) return answerError(RED, NS, res, e, scrub, describeError);
    res.status(400).json({ error: scrub(describeError(e)), code: e.code, field: e.field });
  }

  function deployedAccount(id: unknown): AccountNode | undefined {
    const node = typeof id === 'string' ? (RED.nodes.getNode(id) as AccountNode | null) : null;
    return node?.type === NS ? node : undefined;
  }

  /** Where a request's answer and error are scrubbed of the secrets the dialog lent it. */
  interface Scrub { scrub: (t: string) => string }

  /**
   * Runs `ask` with a client of the dialog's settings: the deployed account's own client when the dialog
   * holds its settings (one session, one limiter; OAuth spends no refresh token), else a new one, closed after.
   */
  async function withDialogClient<T>(body: Body, scrub: Scrub, ask: (client: PhotoShelterClient) => Promise<T>): Promise<T> {
    const dialog = dialogValues<AccountConfig, AccountCredentials>(RED, spec, body);
    scrub.scrub = dialog.scrub;
    const { options } = resolveAccount(dialog.config, dialog.credentials);
    const id = typeof body.id === 'string' ? body.id : undefined;
    const deployed = deployedAccount(id);
    if (deployed && deployed.settingsKey === settingsKey(options)) return ask(deployed.getClient());
    const client = new PhotoShelterClient(id ? withKeptRefreshToken(options, refreshTokenFile(RED, id), () => undefined) : options);
    try {
      return await ask(client);
    } finally {
      await client.close();
    }
  }

  /** GET /photoshelter/account/:id/<what> through the deployed account; POST /photoshelter/account/<what> from the dialog's settings. */
  function picker<T>(what: string, answer: (result: T) => unknown, ask: Ask<T>, timeoutMs = 60_000): void {
    RED.httpAdmin.get(`/photoshelter/account/:id/${what}`, ...adminGuards(RED, NS), async (req: Request, res: Response) => {
      const node = deployedAccount(String(req.params.id));
      if (!node) {
        res.status(404).json({ error: RED._(`${NS}.errors.notDeployed`) });
        return;
      }
      try {
        res.json(answer(await ask(node.getClient(), req.query as Body, AbortSignal.timeout(timeoutMs))));
      } catch (e) {
        fail(res, e);
      }
    });
    RED.httpAdmin.post(`/photoshelter/account/${what}`, ...adminGuards(RED, NS), async (req: Request, res: Response) => {
      const body = bodyOf(req);
      const scrub: Scrub = { scrub: (t) => t };
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        res.json(answer(await withDialogClient(body, scrub, (client) => ask(client, body, signal))));
      } catch (e) {
        fail(res, e, scrub.scrub);
      }
    });
  }

  // Test connection: the dialog's settings, signed in for real; stored secrets only as deployed (see form.ts)
  RED.httpAdmin.post('/photoshelter/account/test', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const body = bodyOf(req);
    let scrub = (t: string) => t;
    try {
      const dialog = dialogValues<AccountConfig, AccountCredentials>(RED, spec, body);
      scrub = dialog.scrub;
      const { options } = resolveAccount(dialog.config, dialog.credentials);
      const signal = AbortSignal.timeout(30_000);
      const id = typeof body.id === 'string' ? body.id : undefined;
      // OAuth spends the refresh token it signs in with: the deployed account's own client is tested when the
      // dialog holds its settings, else a new client that keeps what it is given for this account
      const deployed = id && options.auth.mode === 'oauth' ? deployedAccount(id) : undefined;
      const report =
        deployed && deployed.settingsKey === settingsKey(options)
          ? await checkConnection(deployed.getClient(), options.auth, signal)
          : await testConnection(id ? withKeptRefreshToken(options, refreshTokenFile(RED, id), () => undefined) : options, signal);
      res.json(report);
    } catch (e) {
      fail(res, e, scrub);
    }
  });

  picker(
    'tree',
    (level) => level,
    async (client, q, signal) => {
      const parent: string | undefined = typeof q.parent === 'string' && q.parent ? q.parent : undefined;
      if (parent !== undefined && !isId('collection', parent)) throw new AccountConfigError('badParent', 'parent', RED._(`${NS}.errors.badParent`, { value: String(parent).slice(0, 40) }));
      return { parent: parent ?? null, items: await browseLevel(client, parent, signal) };
    },
  );
  picker('fields', (fields) => ({ fields }), (client, _q, signal) => customFieldNames(client, 5, signal));
  picker(
    'names',
    (names) => ({ names }),
    (client, q, signal) => {
      const raw = Array.isArray(q.ids) ? q.ids : typeof q.ids === 'string' ? q.ids.split(/[\s,;]+/) : [];
      return scopeNames(client, raw.filter((x): x is string => typeof x === 'string' && x !== ''), signal);
    },
    30_000,
  );
}
