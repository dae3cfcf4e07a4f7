/** Text of an error for a user: the client's messages are already actionable and free of secrets. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
