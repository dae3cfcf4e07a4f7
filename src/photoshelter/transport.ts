import { Agent, request as undiciRequest } from 'undici';
import type { Readable } from 'node:stream';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface TransportRequest {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Idle time allowed between body chunks (undici bodyTimeout). */
  bodyIdleTimeoutMs: number;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** Sends one HTTP request; resolves when the response headers have arrived. */
export interface Transport {
  send(req: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}

export interface UndiciTransportOptions {
  /** Sockets per origin (default: no cap). */
  connections?: number;
  keepAliveTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** undici Agent with keep-alive pooling; close() ends the pool. */
export class UndiciTransport implements Transport {
  private readonly agent: Agent;

  constructor(opts: UndiciTransportOptions) {
    this.agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000,
      connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
    });
  }

  async send(req: TransportRequest): Promise<TransportResponse> {
    const res = await undiciRequest(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      dispatcher: this.agent,
      // the pipeline enforces the total timeout with its own timer
      headersTimeout: 0,
      bodyTimeout: req.bodyIdleTimeoutMs,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The low-level code of a network error (undici wraps Node's codes in `cause`). */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') {
      const inner = (e as { cause?: unknown }).cause;
      const innerCode = inner && typeof inner === 'object' ? (inner as { code?: unknown }).code : undefined;
      // prefer the OS code (ECONNRESET) over undici's wrapper code when both exist
      if (code === 'UND_ERR_SOCKET' && typeof innerCode === 'string') return innerCode;
      return code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
