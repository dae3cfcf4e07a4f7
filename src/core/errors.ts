/**
 * The one error base of the domain: a stable `code` (what a flow branches on), and, for errors that a
 * node words for the user, a catalogue `key` with its `values` (the node looks the key up under `errors.`
 * in its own catalogue, in the user's language). `retryable` says whether trying again may help (a
 * network failure, a 5xx, a 429). `message` is an English text for logs and tests, and the user's text
 * for errors without a key (destinations word their errors themselves: the cause first, then the place).
 */
export type ErrorValues = Record<string, string | number>;

export interface CoreErrorOptions {
  /** The catalogue key (under `errors.`) a node words this error with. */
  key?: string;
  values?: ErrorValues;
  retryable?: boolean;
  cause?: unknown;
}

export class CoreError extends Error {
  readonly code: string;
  readonly key: string | undefined;
  readonly values: ErrorValues;
  readonly retryable: boolean;

  constructor(code: string, message: string, opts: CoreErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.key = opts.key;
    this.values = opts.values ?? {};
    this.retryable = opts.retryable ?? false;
  }
}

/** A problem of a node's settings or of its input, named by a catalogue key (code `EVALIDATION` unless said). */
export class InputError extends CoreError {
  declare readonly key: string;
  constructor(key: string, values: ErrorValues = {}, code = 'EVALIDATION') {
    super(code, `${key}${Object.keys(values).length ? ` ${JSON.stringify(values)}` : ''}`, { key, values });
  }
}
