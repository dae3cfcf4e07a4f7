/**
 * photoshelter-account: the configuration node. One shared client (one session, one limiter, one pool)
 * for every node that uses the account; its admin endpoints for the editor are in shared/account-routes.ts.
 * Secrets live in credentials and never leave the runtime.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { PhotoShelterClient } from '../photoshelter';
import { resolveAccount, type AccountConfig, type AccountCredentials, type ResolvedAccount } from '../core/account';
import type { AccountNode } from './shared/types';
import type { DialogSpec } from './shared/form';
import { registerAccountRoutes } from './shared/account-routes';
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

  registerAccountRoutes(RED, SPEC);
};
