// The request log: what was asked and answered, without secrets.
const SECRET_PARAMS = new Set(['api_key', 'password', 'token', 'auth_token', 'access_token', 'refresh_token', 'code', 'client_secret', 'state']);
const MAX_ENTRIES = 10_000;

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

  add(e: LogEntry): void {
    this.entries.push(e);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  all(): LogEntry[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
