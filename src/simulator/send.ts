// Writes a reply to the socket, honouring backpressure and the stream-level faults.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './http';

export interface StreamFaults {
  /** Fraction of the body to send before resetting the connection. */
  reset?: number;
  /** Fraction of the body to send before ending the socket (Content-Length still announces all of it). */
  truncate?: number;
  slowBytesPerSecond?: number;
}

const CHUNK = 1 << 20;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function flushed(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.write(Buffer.alloc(0), () => resolve()));
}

/** Sends the reply; resolves with the number of body bytes written. */
export async function sendReply(req: IncomingMessage, res: ServerResponse, reply: Reply, faults: StreamFaults = {}): Promise<number> {
  const length = reply.body.length;
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': length });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return 0;
  }
  let limit = length;
  if (faults.reset !== undefined) limit = Math.floor(length * faults.reset);
  if (faults.truncate !== undefined) limit = Math.min(limit, Math.floor(length * faults.truncate));
  const slow = faults.slowBytesPerSecond;
  const chunkMax = slow ? Math.max(1, Math.floor(slow / 20)) : CHUNK;
  let offset = 0;
  while (offset < limit && !res.destroyed) {
    const chunk = reply.body.read(offset, Math.min(chunkMax, limit - offset));
    if (chunk.length === 0) break;
    const ok = res.write(chunk);
    offset += chunk.length;
    if (slow) await sleep((chunk.length / slow) * 1000);
    else if (!ok) await drained(res);
  }
  if (res.destroyed) return offset;
  if (faults.reset !== undefined) {
    await flushed(res);
    const socket = res.socket;
    if (socket && 'resetAndDestroy' in socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket?.destroy();
  } else if (limit < length) {
    await flushed(res);
    res.socket?.end();
  } else {
    res.end();
  }
  return offset;
}
