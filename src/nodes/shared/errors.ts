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
