/**
 * Boolean settings and message properties, read strictly: `true`/`false`, or the strings "true"/"false" in
 * any case (with surrounding blanks), and nothing else. Anything else is an error that names the setting,
 * never a guess: "TRUE" must not turn TLS verification off, and `msg.dryRun: "yes"` must not write for real.
 */

import { CoreError } from './errors';

/** A value that is not a boolean where one is required. `code` is ECONFIG for settings, EVALIDATION for msg input. */
export class BooleanSettingError extends CoreError {
  constructor(
    readonly setting: string,
    readonly value: string,
    code: 'ECONFIG' | 'EVALIDATION' = 'ECONFIG',
  ) {
    super(code, `${setting} must be true or false, not ${value}`, { key: 'badBoolean', values: { setting, value } });
  }
}

/** How a refused value is shown: quoted text (cut), or its type; never more than 40 characters. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v).slice(0, 30);
  if (v === null) return 'null';
  return Array.isArray(v) ? 'a list' : `a value of type ${typeof v}`;
}

/**
 * `value` as a boolean. Unset (`undefined`, `null`, `''`) gives `fallback`; `true`/`false` and the strings
 * "true"/"false" in any case are read; anything else throws a BooleanSettingError naming `setting`.
 */
export function strictBool(value: unknown, setting: string, fallback: boolean, code: 'ECONFIG' | 'EVALIDATION' = 'ECONFIG'): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === false) return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
  }
  throw new BooleanSettingError(setting, shown(value), code);
}

/** Like strictBool, for a property of a message: unset gives undefined (the node's setting applies). */
export function msgBool(value: unknown, property: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === '') throw new BooleanSettingError(property, '""', 'EVALIDATION');
  return strictBool(value, property, false, 'EVALIDATION');
}
