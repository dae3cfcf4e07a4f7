/**
 * What the security tests share: a capture server on loopback that records every request it gets (the
 * place an attacker would like secrets to go), and checks that a text carries no secret in any form.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';

export interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Capture {
  url: string;
  port: number;
  requests: Captured[];
  /** Everything received (request lines, headers, bodies) as one text. */
  text(): string;
  /** What it answers: a status and a body (default 200, `{}`). */
  answer: { status: number; body: string; headers?: Record<string, string> };
  close(): Promise<void>;
}

export async function startCapture(): Promise<Capture> {
  const requests: Captured[] = [];
  const capture: Partial<Capture> = { requests, answer: { status: 200, body: '{}' } };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = capture.answer as Capture['answer'];
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) }).end(a.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(capture, {
    url: `http://127.0.0.1:${port}`,
    port,
    text: () => requests.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n'),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  }) as Capture;
}

/** The forms a secret could take on the wire or in a text. */
export function formsOf(secret: string): string[] {
  return [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64').replace(/=+$/, ''), JSON.stringify(secret).slice(1, -1)];
}

/** Fails when `text` holds any of `secrets` in any of its forms (also base64 of user:secret). */
export function assertNoSecret(text: string, secrets: string[], what = 'the text'): void {
  for (const s of secrets) {
    for (const f of formsOf(s)) assert.ok(!text.includes(f), `${what} holds a secret (${s.slice(0, 3)}…): ${text.slice(0, 400)}`);
  }
}

/** Files under a folder, relative, sorted (none when it does not exist). */
export function filesIn(dir: string, pre = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesIn(join(dir, e.name), `${pre}${e.name}/`) : [pre + e.name]))
    .sort();
}

/** Messages that reach a helper node, in order; listeners hear each new one. */
export class Inbox<M = Record<string, unknown>> {
  readonly msgs: M[] = [];
  private readonly listeners = new Set<(m: M) => void>();
  constructor(node: { on(event: 'input', fn: (msg: M, send: unknown, done: () => void) => void): void }) {
    node.on('input', (msg, _send, done) => {
      this.msgs.push(msg);
      done();
      for (const l of [...this.listeners]) l(msg);
    });
  }
  listen(fn: (m: M) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Waits for the next message on `ok` (sent on) or on `caught` (a Catch node saw an error), whichever comes first. */
export function outcome<M>(ok: Inbox<M>, caught: Inbox<M>, ms = 15_000): Promise<{ sent?: M; caught?: M }> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      offOk();
      offCaught();
      clearTimeout(timer);
    };
    const offOk = ok.listen((m) => {
      stop();
      resolve({ sent: m });
    });
    const offCaught = caught.listen((m) => {
      stop();
      resolve({ caught: m });
    });
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`neither sent on nor caught within ${ms} ms`));
    }, ms);
  });
}

const LOCALES = join(__dirname, '..', '..', 'nodes', 'locales', 'en-US');
const CATALOGUE: Record<string, unknown> = Object.assign(
  {},
  ...readdirSync(LOCALES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(LOCALES, f), 'utf8')) as Record<string, unknown>),
);

/** A catalogue text with its __values__, as the runtime gives it (the test helper's RED._ answers the key only). */
export function translate(key: string, values: Record<string, unknown> = {}): string {
  let o: unknown = CATALOGUE;
  for (const part of key.split('.')) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[part] : undefined;
  if (typeof o !== 'string') return key;
  return o.replace(/__(\w+)__/g, (_m, name: string) => String(values[name] ?? `__${name}__`));
}

/** A node module whose RED._ answers from the package's catalogues, so that tests read (and check) real messages. */
export function withCatalogue<T extends (RED: NodeAPI) => void>(register: T): (RED: NodeAPI) => void {
  return (RED: NodeAPI) => register(new Proxy(RED, { get: (target, prop, receiver) => (prop === '_' ? translate : Reflect.get(target, prop, receiver)) }));
}
