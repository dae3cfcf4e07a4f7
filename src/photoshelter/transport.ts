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

/** The low-level code of a network error (shared with the destinations). */
export { networkCode } from '../net';
