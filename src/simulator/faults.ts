// Fault injection rules, matched per request on method and path.
export interface FaultSpec {
  /** Regular expression tested against the path below /psapi/v4.0 (file links: the full /__sim/files/… path). */
  route: string;
  method?: string;
  status?: number;
  /** For injected 429s. */
  retryAfter?: number;
  /** Reset the connection after this fraction of the body (true = 0.5). */
  reset?: boolean | number;
  /** Announce the full Content-Length, send this fraction of the body (true = 0.5), then end the socket. */
  truncate?: boolean | number;
  latencyMs?: number;
  slowBytesPerSecond?: number;
  /** Probability 0..1 that a matching request is hit. */
  rate?: number;
  /** Only the first N matching requests are hit. */
  count?: number;
  /** Only requests whose `page` query parameter is at least this (e.g. production's failure at page 1019). */
  minPage?: number;
}

export interface Fault extends FaultSpec {
  id: number;
  regex: RegExp;
  hits: number;
  seen: number;
}

export class FaultError extends Error {}

export function validateFault(input: unknown): FaultSpec {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new FaultError('A fault must be an object.');
  const f = input as Record<string, unknown>;
  if (typeof f.route !== 'string') throw new FaultError(`'route' must be a regular expression string.`);
  try {
    new RegExp(f.route);
  } catch {
    throw new FaultError(`'route' is not a valid regular expression: ${f.route}`);
  }
  const num = (k: string, min: number, max: number): void => {
    if (f[k] !== undefined && (typeof f[k] !== 'number' || !Number.isFinite(f[k]) || (f[k] as number) < min || (f[k] as number) > max)) {
      throw new FaultError(`'${k}' must be a number in [${min}, ${max}].`);
    }
  };
  num('status', 100, 599);
  num('retryAfter', 0, 86_400);
  num('latencyMs', 0, 600_000);
  num('slowBytesPerSecond', 1, 1e12);
  num('rate', 0, 1);
  num('count', 0, 1e9);
  num('minPage', 1, 1e9);
  for (const k of ['reset', 'truncate']) {
    if (f[k] !== undefined && typeof f[k] !== 'boolean') num(k, 0, 1);
  }
  if (f.method !== undefined && typeof f.method !== 'string') throw new FaultError(`'method' must be a string.`);
  const kinds = ['status', 'reset', 'truncate', 'latencyMs', 'slowBytesPerSecond'].filter((k) => f[k] !== undefined && f[k] !== false);
  if (kinds.length === 0) throw new FaultError('A fault needs one of status, reset, truncate, latencyMs, slowBytesPerSecond.');
  return f as unknown as FaultSpec;
}

export class Faults {
  private rules: Fault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: this.nextId++, regex: new RegExp(spec.route), hits: 0, seen: 0 };
    this.rules.push(fault);
    return fault;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Omit<Fault, 'regex'>[] {
    return this.rules.map(({ regex: _regex, ...rest }) => rest);
  }

  /** The rules that hit this request (each rule counts its own matches). */
  pick(method: string, path: string, query?: URLSearchParams): Fault[] {
    const out: Fault[] = [];
    const page = Number(query?.get('page') ?? 1);
    for (const f of this.rules) {
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (!f.regex.test(path)) continue;
      if (f.minPage !== undefined && !(page >= f.minPage)) continue;
      f.seen++;
      if (f.count !== undefined && f.hits >= f.count) continue;
      if (f.rate !== undefined && Math.random() >= f.rate) continue;
      f.hits++;
      out.push(f);
    }
    return out;
  }
}

export function fraction(v: boolean | number | undefined): number {
  return v === true || v === undefined ? 0.5 : v === false ? 1 : v;
}
