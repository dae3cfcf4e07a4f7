import type { Node, NodeAPI } from 'node-red';
import { PhotoShelterError } from '../../photoshelter';

export type CodedError = Error & { code?: string; status?: number };

/**
 * Text of an error for a user: the client's messages are already actionable and free of secrets. A thrown
 * value that is no Error (JSONata throws plain objects with a message, code and position) is described by
 * its message and code, never as "[object Object]".
 */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (e && typeof e === 'object') {
    const o = e as { message?: unknown; code?: unknown; position?: unknown; token?: unknown };
    if (typeof o.message === 'string' && o.message) {
      const where = typeof o.position === 'number' ? ` at position ${o.position}` : '';
      const code = typeof o.code === 'string' && o.code ? ` (${o.code}${where})` : where ? ` (${where.trim()})` : '';
      return `${o.message}${code}`;
    }
    try {
      return `an error without a message: ${JSON.stringify(e).slice(0, 200)}`;
    } catch {
      return 'an error without a message';
    }
  }
  return String(e);
}

/** The media id a client error is about, when its request was for one medium (`/media/{id}…`). */
function mediaIdOf(path: string | undefined): string | undefined {
  return /^\/media\/((?:I0|VD|AD|DO)000[A-Za-z0-9._]{11})(?:\/|$)/.exec(path ?? '')?.[1];
}

const HINTS: Record<string, string> = { ENETWORK: 'network', ETIMEDOUT: 'timeout', ESERVER: 'server', ERATELIMIT: 'rateLimit' };

/** The keys under `problems.` that a node calling clientProblem() needs in its catalogue. */
export const PROBLEM_KEYS = ['noAsset', ...Object.values(HINTS)];

/**
 * An error of the PhotoShelter client as a person reads it: the cause first, then what to do (texts of
 * the calling node's catalogue `ns`, under `problems.*`: Node-RED gives each node module its own). A medium that is not there gets the code ENOASSET (the client's
 * ENOTFOUND is also Node's code for a host name that does not resolve). Other errors: undefined.
 */
export function clientProblem(RED: NodeAPI, ns: string, e: unknown): CodedError | undefined {
  if (!(e instanceof PhotoShelterError)) return undefined;
  const t = (key: string, values: Record<string, string>) => RED._(`${ns}.problems.${key}`, values);
  const id = e.code === 'ENOTFOUND' ? mediaIdOf(e.path) : undefined;
  if (id) return Object.assign(new Error(t('noAsset', { id })), { code: 'ENOASSET', status: e.status });
  const hint = HINTS[e.code];
  return Object.assign(new Error(hint ? t(hint, { detail: e.message }) : e.message), { code: e.code, status: e.status });
}

/**
 * The short form of an error for a node's status: its cause, the message up to the first ": " or ". "
 * (messages say the cause first, then what to do), cut at a word within `max` characters.
 */
export function shortError(e: unknown, max = 60): string {
  const text = describeError(e).trim();
  const cut = text.search(/[:.] /);
  const cause = cut > 0 ? text.slice(0, cut) : text.replace(/\.$/, '');
  if (cause.length <= max) return cause;
  const words = cause.slice(0, max - 1);
  const space = words.lastIndexOf(' ');
  return `${space > max / 2 ? words.slice(0, space) : words}…`;
}

type FlowOf = { _flow?: { handleError?: (node: Node, err: unknown, msg: object) => boolean } };

/**
 * Errors a node passes to `done(err)` reach Catch nodes as they are (message and code); those no Catch
 * node takes are logged as their message, so that the debug sidebar shows one readable line, as it does
 * for core nodes, instead of a collapsed error object whose message is cut off. Relies on the runtime's
 * flow of the node (as `done` itself does); without one, Node-RED's own behaviour stays.
 */
export function logErrorsAsLines(node: Node): void {
  const own = Object.getPrototypeOf(node).error as (this: Node, logMessage: unknown, msg?: unknown) => void;
  node.error = function (this: Node & FlowOf, logMessage: unknown, msg?: unknown): void {
    const handleError = this._flow?.handleError;
    if (logMessage instanceof Error && msg && typeof msg === 'object' && typeof handleError === 'function') {
      if (!handleError.call(this._flow, this, logMessage, msg)) own.call(this, logMessage.message);
      return;
    }
    own.call(this, logMessage, msg);
  } as Node['error'];
}
