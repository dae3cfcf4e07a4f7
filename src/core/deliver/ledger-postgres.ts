/**
 * The delivery ledger in PostgreSQL: one store shared by every Node-RED process (worker) that delivers to
 * the same places, with the guarantees of the file store across processes. Loaded only when a destination
 * uses it (the `pg` driver is required then, not before).
 *
 * Tables (in the configured schema; see docs/delivery-ledger.md for the columns, and the views for BI):
 * - `delivery`: the live record per target, asset and location, what the file store keeps per line;
 * - `delivery_claim`: the claims, one row per target, asset and location, with the owner and a lease;
 * - `delivery_event`: the audit, one row per outcome (done, removed, refused, failed); a done row is
 *   unique per target, location, asset and version (a repeat upload of the same version counts `uploads`);
 * - `schema_version`: the migrations applied.
 *
 * A claim (`exclusive`) is an `INSERT … ON CONFLICT DO UPDATE … WHERE the lease expired`: atomic, so of
 * several workers meeting the same item one gets it; an expired claim (its worker died) is taken over. The
 * lease is renewed while the delivery runs, and every write made under the claim (intent, done, failed)
 * first checks that the claim is still ours: a worker that stalled past its lease and lost the claim
 * records nothing over the new owner's record (LeaseLostError). The database's clock times the leases.
 */
import { CoreError } from '../errors';
import { sleep } from '../../net';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import {
  ClaimedError,
  failureOf,
  LeaseLostError,
  placeOf,
  type DeliveredAsset,
  type DeliveredOptions,
  type DeliveryFailure,
  type DeliveryLedger,
  type DeliveryResult,
  type ExclusiveOptions,
  type LedgerKey,
  type LedgerRecord,
  type LedgerState,
  type VersionStamp,
} from './ledger';

export interface PostgresLedgerSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  /** TLS: off, or on with the server's certificate checked (unless `rejectUnauthorized` is false), optionally against `ca`. */
  ssl?: false | { rejectUnauthorized: boolean; ca?: string };
  /** The schema holding the tables (created when missing). */
  schema: string;
  /** How long a claim lives without renewal (ms). */
  leaseMs: number;
  /** Connections at most (default 10). */
  poolSize?: number;
  /** This process's name in claims and audit rows (default host name and process id). */
  worker?: string;
  /** Connecting, at most (ms, default 10 s). */
  connectTimeoutMs?: number;
  /** Clock for record times (tests); leases use the database's. */
  now?: () => number;
}

export const DEFAULT_LEASE_SECONDS = 30;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A configuration problem of the PostgreSQL ledger (a message for the user, no secret). */
export class LedgerConfigError extends CoreError {
  constructor(message: string) {
    super('ECONFIG', message);
  }
}

/** The database failed a ledger operation (unreachable, restarted, refused): the delivery did not happen. */
export class LedgerUnavailableError extends CoreError {
  constructor(cause: unknown) {
    super('ELEDGER', `The shared delivery ledger (PostgreSQL) failed: ${(cause as Error)?.message || String(cause)}`, { cause });
  }
}

/** Our own errors pass; the driver's become LedgerUnavailableError. */
function ledgerError(e: unknown): Error {
  return e instanceof LeaseLostError || e instanceof ClaimedError || e instanceof LedgerConfigError || e instanceof LedgerUnavailableError ? e : new LedgerUnavailableError(e);
}

/** The migrations, in order: each runs once per database, under an advisory lock, in one transaction. */
export function migrations(schema: string): Array<{ version: number; description: string; sql: string }> {
  const s = `"${schema}"`;
  return [
    {
      version: 1,
      description: 'delivery, delivery_claim, delivery_event and the audit views',
      sql: `
CREATE TABLE ${s}.delivery (
  target     text NOT NULL,
  asset      text NOT NULL,
  location   text NOT NULL,
  state      text NOT NULL CHECK (state IN ('intent', 'done', 'removed', 'refused', 'failed')),
  version    text NOT NULL,
  modified   text,
  evidence   jsonb,
  bytes      bigint,
  sha256     text,
  response   jsonb,
  error      jsonb,
  at         timestamptz NOT NULL,
  checked_at timestamptz,
  worker     text,
  PRIMARY KEY (target, asset, location)
);
CREATE TABLE ${s}.delivery_claim (
  target     text NOT NULL,
  asset      text NOT NULL,
  location   text NOT NULL,
  owner      uuid NOT NULL,
  worker     text,
  claimed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (target, asset, location)
);
CREATE TABLE ${s}.delivery_event (
  id         bigserial PRIMARY KEY,
  state      text NOT NULL CHECK (state IN ('done', 'removed', 'refused', 'failed')),
  target     text NOT NULL,
  asset      text NOT NULL,
  location   text NOT NULL,
  version    text NOT NULL,
  modified   text,
  evidence   jsonb,
  bytes      bigint,
  sha256     text,
  error_code text,
  error      text,
  worker     text,
  at         timestamptz NOT NULL,
  uploads    integer NOT NULL DEFAULT 1,
  last_at    timestamptz
);
CREATE UNIQUE INDEX delivery_event_done_once ON ${s}.delivery_event (target, location, asset, version) WHERE state = 'done';
CREATE INDEX delivery_event_at ON ${s}.delivery_event (at);
CREATE INDEX delivery_event_asset ON ${s}.delivery_event (asset);
CREATE VIEW ${s}.deliveries_per_day AS
  SELECT date_trunc('day', at AT TIME ZONE 'UTC')::date AS day, target AS destination, asset,
         count(*) AS deliveries, sum(uploads) AS uploads, sum(bytes) AS bytes
  FROM ${s}.delivery_event WHERE state = 'done'
  GROUP BY 1, 2, 3;
CREATE VIEW ${s}.delivery_failures AS
  SELECT at, target AS destination, asset, location, version, error_code, error, worker
  FROM ${s}.delivery_event WHERE state = 'failed';
CREATE VIEW ${s}.delivery_removals AS
  SELECT at, target AS destination, asset, location, version, worker
  FROM ${s}.delivery_event WHERE state = 'removed';
`,
    },
    {
      version: 2,
      description: 'an index of the delivered places by asset (listings of what was delivered)',
      sql: `CREATE INDEX delivery_done_by_asset ON ${s}.delivery (asset, target, location) WHERE state = 'done';`,
    },
    {
      version: 3,
      description: 'update_event (audited metadata updates) and the metadata_updates view',
      sql: `
CREATE TABLE ${s}.update_event (
  id        bigserial PRIMARY KEY,
  asset     text NOT NULL,
  field     text NOT NULL,
  before    jsonb,
  after     jsonb,
  reapplied boolean NOT NULL DEFAULT false,
  source    text,
  worker    text,
  at        timestamptz NOT NULL
);
CREATE INDEX update_event_at ON ${s}.update_event (at);
CREATE INDEX update_event_asset ON ${s}.update_event (asset);
CREATE VIEW ${s}.metadata_updates AS
  SELECT at, asset, field,
         CASE WHEN jsonb_typeof(before) = 'array' THEN (SELECT string_agg(v, '; ') FROM jsonb_array_elements_text(before) AS v) ELSE before #>> '{}' END AS before,
         CASE WHEN jsonb_typeof(after) = 'array' THEN (SELECT string_agg(v, '; ') FROM jsonb_array_elements_text(after) AS v) ELSE after #>> '{}' END AS after,
         reapplied, source, worker
  FROM ${s}.update_event;
`,
    },
  ];
}

/** The settings as the `pg` driver takes them. */
function poolConfig(s: PostgresLedgerSettings): PoolConfig {
  return {
    host: s.host,
    port: s.port,
    database: s.database,
    user: s.user,
    password: s.password,
    ssl: s.ssl ? { rejectUnauthorized: s.ssl.rejectUnauthorized, ca: s.ssl.ca || undefined } : false,
    max: s.poolSize ?? 10,
    connectionTimeoutMillis: s.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'node-red-photoshelter',
  };
}

function loadDriver(): typeof import('pg') {
  try {
    // loaded on first use: the package works without a database for everyone who keeps the file ledger
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg') as typeof import('pg');
  } catch (e) {
    throw new LedgerConfigError(`The PostgreSQL driver (the "pg" package) is not available in this installation: ${(e as Error).message}`);
  }
}

/** Checks the settings that would make bad SQL or a connection to nowhere. */
export function checkSettings(s: PostgresLedgerSettings): void {
  if (!s.host) throw new LedgerConfigError('The database host is missing');
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new LedgerConfigError(`The database port must be a number from 1 to 65535`);
  if (!s.database) throw new LedgerConfigError('The database name is missing');
  if (!s.user) throw new LedgerConfigError('The database user is missing');
  if (!SCHEMA_NAME.test(s.schema)) throw new LedgerConfigError(`The schema name "${s.schema.slice(0, 70)}" must be lower-case letters, digits and underscores, starting with a letter or underscore`);
  if (!(s.leaseMs >= 1_000 && s.leaseMs <= 3_600_000)) throw new LedgerConfigError('The claim lease must be from 1 to 3600 seconds');
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : '');

interface Row {
  target: string;
  asset: string;
  location: string;
  state: LedgerState;
  version: string;
  modified: string | null;
  evidence: LedgerRecord['f'] | null;
  bytes: string | number | null;
  sha256: string | null;
  response: unknown;
  error: DeliveryFailure | null;
  at: Date | string;
  checked_at: Date | string | null;
}

function recordOf(r: Row): LedgerRecord {
  const out: LedgerRecord = { t: r.state, d: r.target, a: r.asset, l: r.location, v: r.version, at: iso(r.at) };
  if (r.modified) out.m = r.modified;
  if (r.evidence) out.f = r.evidence;
  if (r.bytes !== null && r.bytes !== undefined) out.b = Number(r.bytes);
  if (r.sha256) out.h = r.sha256;
  if (r.response !== null && r.response !== undefined) out.r = r.response;
  if (r.error) out.e = r.error;
  if (r.checked_at) out.c = iso(r.checked_at);
  return out;
}


/** An audited metadata update of one asset: the fields it changed, before and after. */
export interface UpdateEvent {
  asset: string;
  fields: Record<string, { before: unknown; after: unknown }>;
  /** The asset changed while it was written, and the mapping was applied again. */
  reapplied?: boolean;
  /** Who asked (the update node's name, or what the flow sets); no secret. */
  source?: string;
  /** When (default now). */
  at?: string;
}

/** What a connection test reports. */
export interface PostgresReport {
  server: string;
  /** The schema version found (0: no tables yet; they are made on first use). */
  schemaVersion: number;
  latest: number;
}

/**
 * One database (a pool of connections, the schema migrated on open), shared by the ledgers of every
 * destination that uses it: `ledger(target)` is the DeliveryLedger of one target.
 */
export class PostgresStore {
  readonly worker: string;
  private closed = false;
  /** Counters (tests, benchmarks). */
  readonly stats = { claims: 0, takeovers: 0, waits: 0, renewals: 0 };

  private constructor(
    private readonly pool: Pool,
    readonly settings: PostgresLedgerSettings,
  ) {
    this.worker = settings.worker || `${hostname()}:${process.pid}`;
  }

  /** Connects, creates or migrates the schema, and resolves with the store. */
  static async open(settings: PostgresLedgerSettings): Promise<PostgresStore> {
    checkSettings(settings);
    const pg = loadDriver();
    const pool = new pg.Pool(poolConfig(settings));
    // an idle connection that breaks (the server restarted) is dropped; the next query opens another
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, settings);
    try {
      await store.migrate();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /** Connects once and reports the server and the schema version, changing nothing (the editor's test). */
  static async probe(settings: PostgresLedgerSettings): Promise<PostgresReport> {
    checkSettings(settings);
    const pg = loadDriver();
    const client = new pg.Client({ ...poolConfig(settings) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const server = String((await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '');
      const table = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_version'`, [settings.schema]);
      let schemaVersion = 0;
      if (table.rowCount) {
        schemaVersion = Number((await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM "${settings.schema}".schema_version`)).rows[0]?.v ?? 0);
      }
      return { server, schemaVersion, latest: migrations(settings.schema).length };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private get s(): string {
    return `"${this.settings.schema}"`;
  }

  /** Applies the migrations this database lacks, one process at a time (an advisory lock per schema). */
  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`photoshelter-ledger:${this.settings.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const have = Number((await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.s}.schema_version`)).rows[0]?.v ?? 0);
      const all = migrations(this.settings.schema);
      if (have > all.length) {
        throw new LedgerConfigError(`The ledger's tables in schema "${this.settings.schema}" are of a newer version (${have}) than this package knows (${all.length}): update the package`);
      }
      for (const m of all) {
        if (m.version <= have) continue;
        await c.query(m.sql);
        await c.query(`INSERT INTO ${this.s}.schema_version (version, description) VALUES ($1, $2)`, [m.version, m.description]);
      }
    });
  }

  /** Runs `fn` in a transaction on one connection. */
  async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect().catch((e: unknown) => {
      throw ledgerError(e);
    });
    let broken = false;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => (broken = true));
      throw ledgerError(e);
    } finally {
      c.release(broken);
    }
  }

  query<R extends object = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; rowCount: number | null }> {
    if (this.closed) return Promise.reject(new LedgerUnavailableError(new Error('it is closed')));
    return this.pool.query<R>(sql, params).catch((e: unknown) => {
      throw ledgerError(e);
    });
  }

  /**
   * Audited metadata updates: one `update_event` row per field an update changed, all of one call in one
   * transaction (a failure writes none). Resolves with the rows written.
   */
  async recordUpdates(events: readonly UpdateEvent[]): Promise<number> {
    const rows = events.flatMap((e) => Object.entries(e.fields).map(([field, v]) => ({ e, field, v })));
    if (rows.length === 0) return 0;
    const at = new Date((this.settings.now ?? Date.now)()).toISOString();
    await this.tx(async (c) => {
      for (let i = 0; i < rows.length; i += 200) {
        const chunk = rows.slice(i, i + 200);
        const params: unknown[] = [];
        const values = chunk.map(({ e, field, v }) => {
          params.push(e.asset, field, JSON.stringify(v.before ?? null), JSON.stringify(v.after ?? null), e.reapplied === true, e.source ?? null, this.worker, e.at ?? at);
          const n = params.length - 8;
          return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8})`;
        });
        await c.query(`INSERT INTO ${this.s}.update_event (asset, field, before, after, reapplied, source, worker, at) VALUES ${values.join(', ')}`, params);
      }
    });
    return rows.length;
  }

  /** The ledger of one target (a destination's real place). */
  ledger(target: string): PostgresLedger {
    return new PostgresLedger(this, target);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** The DeliveryLedger of one target in a PostgresStore. */
export class PostgresLedger implements DeliveryLedger {
  /** Claims this process holds: the key's text → the claim's owner token. */
  private readonly held = new Map<string, string>();
  private readonly busy = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(
    readonly store: PostgresStore,
    readonly target: string,
  ) {
    this.now = store.settings.now ?? Date.now;
  }

  private get s(): string {
    return `"${this.store.settings.schema}"`;
  }

  private time(): string {
    return new Date(this.now()).toISOString();
  }

  async lookup(key: LedgerKey): Promise<LedgerRecord | undefined> {
    const { rows } = await this.store.query<Row>(`SELECT * FROM ${this.s}.delivery WHERE target = $1 AND asset = $2 AND location = $3`, [key.target, key.asset, key.location]);
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  async exclusive<T>(key: LedgerKey, fn: () => Promise<T>, opts: ExclusiveOptions = {}): Promise<T> {
    const k = `${key.target}\u0000${key.asset}\u0000${key.location}`;
    // one at a time in this process first: the database is asked once per delivery, not once per message
    while (this.busy.has(k)) await this.busy.get(k);
    let done!: () => void;
    this.busy.set(k, new Promise<void>((r) => (done = r)));
    try {
      const token = await this.claim(key, opts);
      this.held.set(k, token);
      const leaseMs = this.store.settings.leaseMs;
      const renew = setInterval(() => {
        this.store.stats.renewals++;
        // a renewal that fails (the database is away a moment) is tried again; the writes check the claim
        this.store
          .query(`UPDATE ${this.s}.delivery_claim SET expires_at = now() + $5 * interval '1 millisecond' WHERE target = $1 AND asset = $2 AND location = $3 AND owner = $4`, [key.target, key.asset, key.location, token, leaseMs])
          .catch(() => undefined);
      }, Math.max(1000, Math.floor(leaseMs / 3)));
      renew.unref();
      try {
        return await fn();
      } finally {
        clearInterval(renew);
        this.held.delete(k);
        await this.store
          .query(`DELETE FROM ${this.s}.delivery_claim WHERE target = $1 AND asset = $2 AND location = $3 AND owner = $4`, [key.target, key.asset, key.location, token])
          .catch(() => undefined);
      }
    } finally {
      this.busy.delete(k);
      done();
    }
  }

  /** Takes the claim (new, or one whose lease ran out), waiting up to `opts.waitMs` for a live one to end. */
  private async claim(key: LedgerKey, opts: ExclusiveOptions): Promise<string> {
    const token = randomUUID();
    const deadline = Date.now() + Math.max(0, opts.waitMs ?? 0);
    let pause = 100;
    for (;;) {
      const { rows } = await this.store.query<{ takeover: boolean }>(
        `INSERT INTO ${this.s}.delivery_claim AS c (target, asset, location, owner, worker, claimed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, now(), now() + $6 * interval '1 millisecond')
         ON CONFLICT (target, asset, location) DO UPDATE
           SET owner = EXCLUDED.owner, worker = EXCLUDED.worker, claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at
           WHERE c.expires_at < now()
         RETURNING (xmax <> 0) AS takeover`,
        [key.target, key.asset, key.location, token, this.store.worker, this.store.settings.leaseMs],
      );
      if (rows.length === 1) {
        this.store.stats.claims++;
        if (rows[0].takeover) this.store.stats.takeovers++;
        return token;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const holder = await this.store
          .query<{ worker: string | null }>(`SELECT worker FROM ${this.s}.delivery_claim WHERE target = $1 AND asset = $2 AND location = $3`, [key.target, key.asset, key.location])
          .then((r) => r.rows[0]?.worker ?? undefined, () => undefined);
        throw new ClaimedError(holder ?? undefined);
      }
      this.store.stats.waits++;
      await sleep(Math.min(left, pause * (0.75 + Math.random() / 2)), opts.signal);
      pause = Math.min(1000, pause * 2);
    }
  }

  /** The claim token this process holds for the key, if any. */
  private tokenOf(key: LedgerKey): string | undefined {
    return this.held.get(`${key.target}\u0000${key.asset}\u0000${key.location}`);
  }

  /** Within the claim (when this process holds one): false when the claim is no longer ours. */
  private async stillOurs(c: PoolClient, key: LedgerKey): Promise<boolean> {
    const token = this.tokenOf(key);
    if (!token) return true;
    const r = await c.query(
      `UPDATE ${this.s}.delivery_claim SET expires_at = now() + $5 * interval '1 millisecond' WHERE target = $1 AND asset = $2 AND location = $3 AND owner = $4`,
      [key.target, key.asset, key.location, token, this.store.settings.leaseMs],
    );
    return r.rowCount === 1;
  }

  /** Writes the live record (and its audit row), under the claim when this process holds one. */
  private async write(
    state: LedgerState,
    key: LedgerKey,
    version: VersionStamp,
    extra: { result?: DeliveryResult; failure?: DeliveryFailure; at?: string; checkedAt?: string; event?: boolean } = {},
  ): Promise<void> {
    const at = extra.at || this.time();
    const f = version.f && (version.f.instance || version.f.modify) ? version.f : null;
    const r = extra.result;
    const failure = extra.failure ? failureOf(extra.failure) : null;
    await this.store.tx(async (c) => {
      const ours = await this.stillOurs(c, key);
      if (ours) {
        await c.query(
          `INSERT INTO ${this.s}.delivery AS d (target, asset, location, state, version, modified, evidence, bytes, sha256, response, error, at, checked_at, worker)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (target, asset, location) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, modified = EXCLUDED.modified,
             evidence = EXCLUDED.evidence, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, response = EXCLUDED.response, error = EXCLUDED.error,
             at = EXCLUDED.at, checked_at = EXCLUDED.checked_at, worker = EXCLUDED.worker`,
          [key.target, key.asset, key.location, state, version.v, version.m ?? null, f ? JSON.stringify(f) : null, r ? r.b : null, r?.h ?? null,
            r?.r === undefined ? null : JSON.stringify(r.r), failure ? JSON.stringify(failure) : null, at, extra.checkedAt ?? null, this.store.worker],
        );
      }
      if (extra.event && (ours || state === 'failed')) {
        // the audit: one row per outcome; a done row once per target, location, asset and version
        await c.query(
          `INSERT INTO ${this.s}.delivery_event (state, target, asset, location, version, modified, evidence, bytes, sha256, error_code, error, worker, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (target, location, asset, version) WHERE state = 'done' DO UPDATE SET uploads = delivery_event.uploads + 1,
             last_at = EXCLUDED.at, modified = EXCLUDED.modified, evidence = EXCLUDED.evidence, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, worker = EXCLUDED.worker`,
          [state, key.target, key.asset, key.location, version.v, version.m ?? null, f ? JSON.stringify(f) : null, r ? r.b : null, r?.h ?? null,
            failure?.code ?? null, failure?.message ?? null, this.store.worker, at],
        );
      }
      if (!ours) throw new LeaseLostError();
    });
  }

  intent(key: LedgerKey, version: VersionStamp): Promise<void> {
    return this.write('intent', key, version);
  }

  done(key: LedgerKey, version: VersionStamp, result: DeliveryResult): Promise<void> {
    return this.write('done', key, version, { result, event: true });
  }

  checked(key: LedgerKey, version: VersionStamp, delivered: LedgerRecord): Promise<void> {
    const { b, h, r } = delivered;
    return this.write('done', key, version, { result: { b: b ?? 0, h, r }, at: delivered.at, checkedAt: this.time() });
  }

  removed(key: LedgerKey, version: VersionStamp): Promise<void> {
    return this.write('removed', key, version, { event: true });
  }

  refused(key: LedgerKey, version: VersionStamp, previous?: LedgerRecord): Promise<void> {
    if (previous && previous.t !== 'intent') {
      const { t, b, h, r } = previous;
      return this.write(t, key, { v: previous.v, m: previous.m, f: previous.f }, { result: t === 'done' ? { b: b ?? 0, h, r } : undefined, at: previous.at, checkedAt: previous.c, failure: previous.e });
    }
    return this.write('refused', key, version, { event: true });
  }

  failed(key: LedgerKey, version: VersionStamp, failure: DeliveryFailure): Promise<void> {
    return this.write('failed', key, version, { failure, event: true });
  }

  async *records(): AsyncIterable<LedgerRecord> {
    let after: [string, string] | undefined;
    for (;;) {
      const { rows }: { rows: Row[] } = after
        ? await this.store.query<Row>(`SELECT * FROM ${this.s}.delivery WHERE target = $1 AND (asset, location) > ($2, $3) ORDER BY asset, location LIMIT 500`, [this.target, after[0], after[1]])
        : await this.store.query<Row>(`SELECT * FROM ${this.s}.delivery WHERE target = $1 ORDER BY asset, location LIMIT 500`, [this.target]);
      for (const r of rows) yield recordOf(r);
      if (rows.length < 500) return;
      const last = rows[rows.length - 1];
      after = [last.asset, last.location];
    }
  }

  async placesOf(target: string, asset: string): Promise<LedgerRecord[]> {
    // the primary key (target, asset, location) serves this
    const { rows }: { rows: Row[] } = await this.store.query<Row>(`SELECT * FROM ${this.s}.delivery WHERE target = $1 AND asset = $2 ORDER BY location`, [target, asset]);
    return rows.map(recordOf);
  }

  /**
   * The assets whose live record at some place is done, with those places: every target of the store (the
   * shared store holds what every destination and worker delivered), or one. Read in pages of 500 rows in
   * the order of the primary key's columns, an asset's places together.
   */
  async *deliveredAssets(opts: DeliveredOptions = {}): AsyncIterable<DeliveredAsset> {
    const one = opts.target !== undefined;
    const order = one ? 'asset, location' : 'asset, target, location';
    let after: string[] | undefined;
    let current: DeliveredAsset | undefined;
    for (;;) {
      const params: unknown[] = one ? [opts.target] : [];
      let where = `state = 'done'${one ? ' AND target = $1' : ''}`;
      if (after) {
        const cols = one ? ['asset', 'location'] : ['asset', 'target', 'location'];
        const marks = after.map((v) => (params.push(v), `$${params.length}`));
        where += ` AND (${cols.join(', ')}) > (${marks.join(', ')})`;
      }
      const { rows }: { rows: Row[] } = await this.store.query<Row>(`SELECT * FROM ${this.s}.delivery WHERE ${where} ORDER BY ${order} LIMIT 500`, params);
      for (const row of rows) {
        const place = placeOf(recordOf(row));
        if (current && current.asset === row.asset) current.places.push(place);
        else {
          if (current) yield current;
          current = { asset: row.asset, places: [place] };
        }
      }
      if (rows.length < 500) break;
      const last = rows[rows.length - 1];
      after = one ? [last.asset, last.location] : [last.asset, last.target, last.location];
    }
    if (current) yield current;
  }

  /** The store (its connections) belongs to the ledger config node, which closes it. */
  async close(): Promise<void> {
    // nothing of its own to close
  }
}

/** A photoshelter-ledger config node's settings, as the editor stores them (strings mostly). */
export interface LedgerConfig {
  host?: string;
  port?: string | number;
  database?: string;
  user?: string;
  /** `off`, `verify` (TLS, the server's certificate checked) or `insecure` (TLS, not checked). */
  tls?: string;
  /** PEM of the certificate authority for `verify`. */
  ca?: string;
  schema?: string;
  /** Seconds. */
  lease?: string | number;
  /** This worker's name in claims and audit rows (default host name and process id). */
  worker?: string;
  [key: string]: unknown;
}

const textOf = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

/** The settings of a config node turned into store settings; throws LedgerConfigError, naming no secret. */
export function postgresSettings(config: LedgerConfig, credentials: { password?: string } = {}): PostgresLedgerSettings {
  const tls = textOf(config.tls) || 'off';
  if (!['off', 'verify', 'insecure'].includes(tls)) throw new LedgerConfigError(`Unknown TLS setting "${tls.slice(0, 20)}": use off, verify or insecure`);
  const port = textOf(config.port) === '' ? 5432 : Number(textOf(config.port));
  const leaseS = textOf(config.lease) === '' ? DEFAULT_LEASE_SECONDS : Number(textOf(config.lease));
  if (!Number.isFinite(leaseS)) throw new LedgerConfigError('The claim lease must be a number of seconds');
  const s: PostgresLedgerSettings = {
    host: textOf(config.host),
    port,
    database: textOf(config.database),
    user: textOf(config.user),
    password: credentials.password || undefined,
    ssl: tls === 'off' ? false : { rejectUnauthorized: tls === 'verify', ca: textOf(config.ca) || undefined },
    schema: textOf(config.schema) || 'photoshelter',
    leaseMs: Math.round(leaseS * 1000),
    worker: textOf(config.worker) || undefined,
  };
  checkSettings(s);
  return s;
}
