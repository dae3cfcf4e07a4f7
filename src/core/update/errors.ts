/**
 * Errors of the update logic: a catalogue key (under `errors.`) with its values, and a stable code.
 * Nodes turn the key into text in the user's language; `message` is an English fallback for logs and tests.
 */
export type UpdateErrorCode = 'EVALIDATION' | 'ECONFLICT' | 'ECONFIG' | 'EABORTED';

export class UpdateError extends Error {
  readonly code: UpdateErrorCode;
  constructor(
    readonly key: string,
    readonly values: Record<string, string | number> = {},
    code: UpdateErrorCode = 'EVALIDATION',
  ) {
    super(`${key}: ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    this.name = 'UpdateError';
    this.code = code;
  }
}

/** Every catalogue key the update logic can raise (kept here so a test can check the catalogue). */
export const UPDATE_ERROR_KEYS = [
  'noId',
  'badId',
  'badItem',
  'badFields',
  'unknownField',
  'ambiguousField',
  'badOp',
  'opNotAllowed',
  'wrongType',
  'badDate',
  'badUrgency',
  'badSelect',
  'missingVariable',
  'badTemplate',
  'conflict',
  'badRows',
  'badTarget',
  'badValueType',
  'badConcurrency',
] as const;
