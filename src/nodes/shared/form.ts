/**
 * The trust boundary of the editor's admin endpoints (Test connection, Test destination, the pickers, poll
 * now). Node-RED runs without adminAuth by default, and Node-RED 4.1 answers cross-origin requests to its
 * admin API (`Access-Control-Allow-Origin: *`), so any web page a user opens could call these endpoints.
 * Therefore:
 * - every endpoint needs the node type's write permission (with adminAuth), refuses a request sent by a
 *   page of another origin (its `Origin` or `Sec-Fetch-Site` header says so), and a POST must be JSON
 *   (form and text bodies, which a page can send without asking, get 415);
 * - the dialog's values (settings not deployed yet) are used as typed. A stored secret (`__PWRD__`: left
 *   unchanged) and any `${NAME}` environment reference are used only for a deployed node of the
 *   endpoint's own type, only where the deployed node has the same reference, and only while the dialog
 *   still points where the deployed node does (host, port, path, user, bucket, TLS checks). Otherwise the
 *   answer asks for the secret to be typed again, and nothing is sent;
 * - error answers are scrubbed of every stored secret and every resolved environment value.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Node, NodeAPI } from 'node-red';
import { scrubberOf } from '../../net/scrub';

const SECRET_PLACEHOLDER = '__PWRD__';
/** A whole-value environment reference, as Node-RED reads it in node settings and credentials. */
const ENV_REF = /^\$\{(\S+)\}$|^\$\((\S+)\)$/;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A refusal of an admin endpoint: an HTTP status, and a catalogue key of the node type's `admin` section. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly values: Record<string, string> = {},
    readonly field?: string,
  ) {
    super(key);
    this.name = 'AdminError';
  }
}

/** The origin of this request as the browser saw it (the Host header, or a proxy's X-Forwarded-Host). */
function ownHosts(req: Request): string[] {
  const hosts = [String(req.headers.host ?? '')];
  const fwd = req.headers['x-forwarded-host'];
  if (typeof fwd === 'string' && fwd) hosts.push(fwd.split(',')[0].trim());
  return hosts.filter(Boolean).map((h) => h.toLowerCase());
}

/** Why a request comes from another origin, or undefined when it does not. */
export function crossOrigin(req: Request): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return String(site);
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (origin === 'null') return 'null';
  try {
    const host = new URL(origin).host.toLowerCase();
    return ownHosts(req).includes(host) ? undefined : origin.slice(0, 100);
  } catch {
    return origin.slice(0, 100);
  }
}

/**
 * The guards of an admin endpoint of node type `ns`: the type's write permission, the same origin, and
 * (for a POST) a JSON body.
 */
export function adminGuards(RED: NodeAPI, ns: string): RequestHandler[] {
  const refuse = (res: Response, status: number, key: string, values: Record<string, string> = {}) =>
    res.status(status).json({ ok: false, code: status === 415 ? 'EMEDIATYPE' : 'EFORBIDDEN', error: RED._(`${ns}.admin.${key}`, values) });
  return [
    RED.auth.needsPermission(`${ns}.write`) as unknown as RequestHandler,
    (req: Request, res: Response, next: NextFunction) => {
      const from = crossOrigin(req);
      if (from !== undefined) return void refuse(res, 403, 'crossOrigin', { origin: from });
      if (req.method !== 'GET' && req.method !== 'HEAD' && !req.is('application/json')) return void refuse(res, 415, 'jsonOnly');
      next();
    },
  ];
}

/** Sends an AdminError (or anything else, as 502) as the endpoint's JSON answer, scrubbed. */
export function answerError(RED: NodeAPI, ns: string, res: Response, e: unknown, scrub: (t: string) => string, describe: (e: unknown) => string): void {
  if (e instanceof AdminError) {
    res.status(e.status).json({ ok: false, code: e.status === 403 ? 'EFORBIDDEN' : 'ECONFIG', field: e.field, error: scrub(RED._(`${ns}.admin.${e.key}`, e.values)) });
    return;
  }
  const code = (e as { code?: unknown })?.code;
  res.status(502).json({ ok: false, code: typeof code === 'string' ? code : undefined, error: scrub(describe(e)) });
}

/** A deployed node of the endpoint's type: its raw settings and credentials, and the live node (for its environment). */
interface Deployed {
  def: Record<string, unknown>;
  credentials: Record<string, unknown>;
  node: Node;
}

/**
 * The deployed node `id` of type `type`; undefined for a node that is not deployed (a new one). An id that
 * names a node of another type is refused: its credentials are not this endpoint's to use.
 */
export function deployedNode(RED: NodeAPI, type: string, id: unknown): Deployed | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  let def: Record<string, unknown> | undefined;
  RED.nodes.eachNode((n) => {
    if (n.id === id) def = n as unknown as Record<string, unknown>;
  });
  const node = RED.nodes.getNode(id) as Node | null;
  if ((def && def.type !== type) || (node && node.type !== type)) throw new AdminError(403, 'foreignId', { id: id.slice(0, 40), type });
  if (!def || !node) return undefined;
  return { def, credentials: (RED.nodes.getCredentials(id) as Record<string, unknown> | undefined) ?? {}, node };
}

export interface DialogSpec {
  /** The node type whose deployed nodes may lend stored values. */
  type: string;
  /** Credential keys (secrets and the text credentials such as a user name). */
  credentialKeys: readonly string[];
  /** Labels of fields, for messages (key → label). */
  label?(key: string): string;
  /**
   * Where secrets would go, as comparable text per part (host, port, path, user, bucket, TLS checks), from
   * resolved settings and credentials.
   */
  identity(config: Record<string, unknown>, credentials: Record<string, unknown>): Record<string, string>;
}

export interface DialogValues<C, K> {
  config: C;
  credentials: K;
  /** Masks every stored secret and resolved environment value (and typed secrets) in a text. */
  scrub: (text: string) => string;
}

function envName(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = ENV_REF.exec(v.trim());
  return m ? (m[1] ?? m[2]) : undefined;
}

/** What a setting reads as, in the deployed node's environment (its flow, group and the process). */
function envOf(RED: NodeAPI, deployed: Deployed, name: string): unknown {
  return (RED.util as unknown as { getSetting(node: Node, name: string): unknown }).getSetting(deployed.node, name);
}

/**
 * The settings and credentials of an edit dialog, with stored secrets and environment values filled in
 * where the rules above allow; throws AdminError where they do not.
 */
export function dialogValues<C, K>(RED: NodeAPI, spec: DialogSpec, body: { id?: unknown; config?: unknown; credentials?: unknown }): DialogValues<C, K> {
  const deployed = deployedNode(RED, spec.type, body.id);
  const label = (key: string) => spec.label?.(key) ?? key;
  /** Stored secrets and environment values this request uses: masked in answers, and only for the deployed place. */
  const lent: string[] = [];
  const lentFields: string[] = [];
  const typed: string[] = [];

  /** A dialog value: literals as they are; environment references only as deployed. */
  const value = (v: unknown, raw: unknown, field: string, depth = 0): unknown => {
    const name = envName(v);
    if (name !== undefined) {
      if (!deployed || raw !== v) throw new AdminError(400, deployed ? 'envChanged' : 'envNotDeployed', { field: label(field) }, field);
      const resolved = envOf(RED, deployed, name);
      if (resolved === undefined) return v; // as Node-RED does: an unset reference stays as written
      if (typeof resolved === 'string') lent.push(resolved);
      lentFields.push(label(field));
      return resolved;
    }
    if (depth < 8 && v && typeof v === 'object') {
      const rawObj = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      if (Array.isArray(v)) return v.map((x, i) => value(x, (rawObj as unknown as unknown[])[i], field, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!UNSAFE_KEYS.has(k)) out[k] = value(x, rawObj[k], field, depth + 1);
      return out;
    }
    return v;
  };
  /** A deployed value resolved as the runtime resolves it (for the deployed node's identity). */
  const asDeployed = (raw: unknown, depth = 0): unknown => {
    const name = envName(raw);
    if (name !== undefined && deployed) return envOf(RED, deployed, name) ?? raw;
    if (depth < 8 && raw && typeof raw === 'object') {
      if (Array.isArray(raw)) return raw.map((x) => asDeployed(x, depth + 1));
      return Object.fromEntries(Object.entries(raw).map(([k, x]) => [k, asDeployed(x, depth + 1)]));
    }
    return raw;
  };

  const config: Record<string, unknown> = {};
  const given = body.config && typeof body.config === 'object' ? (body.config as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(given)) {
    if (UNSAFE_KEYS.has(k) || spec.credentialKeys.includes(k)) continue;
    config[k] = value(v, deployed?.def[k], k);
  }

  const credentials: Record<string, string> = {};
  const givenCreds = body.credentials && typeof body.credentials === 'object' ? (body.credentials as Record<string, unknown>) : {};
  const storedUsed: string[] = [];
  for (const key of spec.credentialKeys) {
    const v = givenCreds[key];
    if (v === SECRET_PLACEHOLDER) {
      // left unchanged in the dialog: the stored secret, if this is a deployed node that has one
      if (!deployed) throw new AdminError(400, 'storedUnknown', { field: label(key) }, key);
      const stored = asDeployed(deployed.credentials[key]);
      if (typeof stored !== 'string' || stored === '') continue;
      credentials[key] = stored;
      lent.push(stored);
      storedUsed.push(label(key));
      continue;
    }
    if (typeof v !== 'string' || v === '') continue;
    const resolved = value(v, deployed?.credentials[key], key);
    if (typeof resolved !== 'string' || resolved === '') continue;
    credentials[key] = resolved;
    if (resolved === v) typed.push(v);
    else lent.push(resolved);
  }

  if (lentFields.length + storedUsed.length > 0 && deployed) {
    // stored and environment values go only where the deployed node sends them
    const now = spec.identity(config, credentials);
    const deployedCreds = Object.fromEntries(spec.credentialKeys.map((k) => [k, asDeployed(deployed.credentials[k])]));
    const then = spec.identity(asDeployed(deployed.def) as Record<string, unknown>, deployedCreds);
    const changed = Object.keys({ ...now, ...then }).filter((k) => now[k] !== then[k]);
    if (changed.length > 0) {
      const fields = [...new Set([...storedUsed, ...lentFields])].join(', ');
      throw new AdminError(400, 'retype', { fields, changed: changed.map(label).join(', ') }, changed[0]);
    }
  }
  return { config: config as C, credentials: credentials as K, scrub: scrubberOf([...lent, ...typed]) };
}
