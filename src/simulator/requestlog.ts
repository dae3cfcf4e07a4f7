// The request log: what was asked and answered, without secrets.
const SECRET_PARAMS = new Set(['api_key', 'password', 'token', 'auth_token', 'access_token', 'refresh_token', 'code', 'client_secret', 'state']);
/** Entries kept by default: the latest ones; `total` and `dropped` count beyond. */
export const DEFAULT_LOG_SIZE = 10_000;

export interface LogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  time: string;
  durationMs: number;
  auth: 'none' | 'session' | 'oauth';
  faults: string[];
  bytes: number;
}

export function redactQuery(q: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of q) out[k] = SECRET_PARAMS.has(k.toLowerCase()) ? '[redacted]' : v;
  return out;
}

export class RequestLog {
  private entries: LogEntry[] = [];
  /** Requests logged since the last clear, listed or no longer. */
  private count = 0;

  constructor(private readonly size = DEFAULT_LOG_SIZE) {
    if (!Number.isSafeInteger(size) || size < 1) throw new Error('the request log size must be a whole number ≥ 1');
  }

  add(e: LogEntry): void {
    this.count++;
    this.entries.push(e);
    // dropped in batches, so that a full log costs no copy per request
    if (this.entries.length > this.size + Math.max(100, this.size >> 4)) this.entries.splice(0, this.entries.length - this.size);
  }

  /** How many requests were logged since the last clear, and how many of those are no longer listed. */
  counts(): { total: number; dropped: number } {
    const listed = Math.min(this.entries.length, this.size);
    return { total: this.count, dropped: this.count - listed };
  }

  all(): LogEntry[] {
    return this.entries.slice(-this.size);
  }

  clear(): void {
    this.entries = [];
    this.count = 0;
  }
}
