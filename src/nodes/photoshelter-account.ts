/**
 * photoshelter-account: the configuration node. One shared client (one session, one limiter, one pool)
 * for every node that uses the account; admin endpoints for the editor (test connection, library tree,
 * custom field names). Secrets live in credentials and never leave the runtime.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { PhotoShelterClient, isId } from '../photoshelter';
import {
  AccountConfigError,
  browseLevel,
  customFieldNames,
  resolveAccount,
  checkConnection,
  testConnection,
  type AccountConfig,
  type AccountCredentials,
  type ResolvedAccount,
} from '../core/account';
import { describeError } from './shared/errors';
import type { AccountNode } from './shared/types';
import { adminGuards, answerError, dialogValues, type DialogSpec } from './shared/form';
import { accountPlace } from './shared/places';
import { refreshTokenFile, settingsKey, withKeptRefreshToken } from './shared/tokens';

type AccountDef = NodeDef & AccountConfig;
const NS = 'photoshelter-account';

const CREDENTIALS: Record<keyof AccountCredentials, { type: 'text' | 'password' }> = {
  apiKey: { type: 'password' },
  email: { type: 'text' },
  password: { type: 'password' },
  clientId: { type: 'text' },
  clientSecret: { type: 'password' },
  refreshToken: { type: 'password' },
  token: { type: 'password' },
};

export = function register(RED: NodeAPI): void {
  const tokenNotSaved = (e: unknown) => RED._('photoshelter-account.errors.tokenNotSaved', { detail: e instanceof Error ? e.message : String(e) });
  function AccountNodeCtor(this: AccountNode, def: AccountDef) {
    RED.nodes.createNode(this, def);
    let resolved: ResolvedAccount | undefined;
    let failure: Error | undefined;
    try {
      resolved = resolveAccount(def, this.credentials ?? {}, { logger: (line) => this.debug(line) });
      this.settingsKey = settingsKey(resolved.options);
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
      this.error(RED._('photoshelter-account.errors.config', { detail: failure.message }));
    }
    this.timeZone = resolved?.timeZone ?? 'UTC';
    let client: PhotoShelterClient | undefined;
    this.getClient = () => {
      if (!resolved) throw failure ?? new Error('account not configured');
      // an OAuth account signs in with the refresh token kept last (read now: "Test connection" may have rotated it)
      client ??= new PhotoShelterClient(withKeptRefreshToken(resolved.options, refreshTokenFile(RED, this.id), (e) => this.warn(tokenNotSaved(e))));
      return client;
    };
    this.on('close', (_removed: boolean, done: () => void) => {
      const c = client;
      client = undefined;
      if (!c) return done();
      c.close().then(done, done);
    });
  }

  RED.nodes.registerType<AccountNode, AccountDef, object, AccountCredentials>('photoshelter-account', AccountNodeCtor, {
    credentials: CREDENTIALS,
  });

  /** Where an account's secrets go: the base URL and the user they sign in as (see shared/places.ts). */
  const SPEC: DialogSpec = { type: NS, credentialKeys: Object.keys(CREDENTIALS), label: (key) => RED._(`${NS}.label.${key}`), identity: accountPlace };

  function deployed(req: Request, res: Response): AccountNode | undefined {
    const node = RED.nodes.getNode(String(req.params.id)) as AccountNode | null;
    if (!node || node.type !== NS) {
      res.status(404).json({ error: RED._(`${NS}.errors.notDeployed`) });
      return undefined;
    }
    return node;
  }

  function fail(res: Response, e: unknown, scrub: (t: string) => string = (t) => t): void {
    if (!(e instanceof AccountConfigError)) return answerError(RED, NS, res, e, scrub, describeError);
    res.status(400).json({ error: scrub(describeError(e)), code: e.code, field: e.field });
  }

  // Test connection: the dialog's settings, signed in for real; stored secrets only as deployed (see form.ts)
  RED.httpAdmin.post('/photoshelter/account/test', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    let scrub = (t: string) => t;
    try {
      const dialog = dialogValues<AccountConfig, AccountCredentials>(RED, SPEC, body);
      scrub = dialog.scrub;
      const { options } = resolveAccount(dialog.config, dialog.credentials);
      const signal = AbortSignal.timeout(30_000);
      const id = typeof body.id === 'string' ? body.id : undefined;
      // OAuth spends the refresh token it signs in with: the deployed account's own client is tested when the
      // dialog holds its settings, else a new client that keeps what it is given for this account
      const deployed = id && options.auth.mode === 'oauth' ? (RED.nodes.getNode(id) as AccountNode | null) : null;
      const report =
        deployed?.type === 'photoshelter-account' && deployed.settingsKey === settingsKey(options)
          ? await checkConnection(deployed.getClient(), options.auth, signal)
          : await testConnection(id ? withKeptRefreshToken(options, refreshTokenFile(RED, id), () => undefined) : options, signal);
      res.json(report);
    } catch (e) {
      fail(res, e, scrub);
    }
  });

  // the pickers: one level of the library tree, and the custom field names, through the deployed account
  RED.httpAdmin.get('/photoshelter/account/:id/tree', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    const parent = typeof req.query.parent === 'string' && req.query.parent ? req.query.parent : undefined;
    if (parent !== undefined && !isId('collection', parent)) {
      res.status(400).json({ error: RED._(`${NS}.errors.badParent`, { value: String(parent).slice(0, 40) }) });
      return;
    }
    try {
      res.json({ parent: parent ?? null, items: await browseLevel(node.getClient(), parent, AbortSignal.timeout(60_000)) });
    } catch (e) {
      fail(res, e);
    }
  });

  RED.httpAdmin.get('/photoshelter/account/:id/fields', ...adminGuards(RED, NS), async (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    try {
      res.json({ fields: await customFieldNames(node.getClient(), 5, AbortSignal.timeout(60_000)) });
    } catch (e) {
      fail(res, e);
    }
  });
};
