/**
 * Errors of the update logic: a catalogue key (under `errors.`) with its values, and a stable code (see
 * ../errors.ts).
 * Nodes turn the key into text in the user's language; `message` is an English fallback for logs and tests.
 */
import { InputError, type ErrorValues } from '../errors';

export type UpdateErrorCode = 'EVALIDATION' | 'ECONFLICT' | 'ECONFIG' | 'EABORTED';

export class UpdateError extends InputError {
  declare readonly code: UpdateErrorCode;
  constructor(key: string, values: ErrorValues = {}, code: UpdateErrorCode = 'EVALIDATION') {
    super(key, values, code);
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
