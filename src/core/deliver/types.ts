/**
 * The contract between the deliver node's core (src/core/deliver/deliver.ts: ledger, sidecars, hashing,
 * retries, dry-run) and each destination (folder, HTTP, SFTP, S3). A destination moves bytes to one
 * place and removes them; it knows nothing of assets or ledgers.
 */
import type { Readable } from 'node:stream';
import { CoreError } from '../errors';

/** Errors a destination throws. `retryable` says whether trying again may help (network, 5xx, 429). */
export class DeliverError extends CoreError {
  constructor(code: string, message: string, retryable = false, options?: { cause?: unknown }) {
    super(code, message, { retryable, cause: options?.cause });
  }
}

export interface PutRequest {
  /** Where, as returned by `resolve()` (a relative path or key, or a URL for HTTP). */
  location: string;
  /** The bytes; read once, with backpressure. Never buffered whole by a destination (S3 parts excepted, bounded). */
  body: Readable;
  /** Byte length when known (Content-Length, S3 single vs multipart). */
  size?: number;
  contentType?: string;
  /** Destination-specific extras: HTTP headers/fields, S3 metadata, from the node's templates. */
  metadata?: Record<string, string>;
  /** `overwrite` (default), `skip` (leave an existing target alone, report skipped) or `fail`. */
  overwrite?: 'overwrite' | 'skip' | 'fail';
  signal: AbortSignal;
}

export interface PutResult {
  location: string;
  /** Bytes written. */
  bytes: number;
  /** True when the target existed and the policy was `skip`. */
  skipped?: boolean;
  /** HTTP only: what the server answered (JSON parsed when it is JSON). */
  response?: { status: number; headers: Record<string, string>; body: unknown };
}

/**
 * What a check of a destination found (the editor's "Test destination"): a message key of the
 * destination node's catalogue (`test.<key>`) and its values. Never carries a secret.
 */
export interface ProbeResult {
  key: string;
  values: Record<string, string | number>;
  /** Reached, but something looks wrong (e.g. an HTTP server answering 404 or 5xx). */
  warning?: boolean;
}

/** Where a location comes from: the destination's and the node's templates, or a message (`msg.location`). */
export type LocationSource = 'template' | 'message';

export interface Destination {
  /** The kind's name (see kind.ts). */
  readonly kind: string;
  /**
   * Validate and normalize a rendered location template. Throws DeliverError('EBADPATH') for `..`, absolute
   * paths, NUL, reserved names… A location given by a message is held to the destination's own place (HTTP:
   * its own origin).
   */
  resolve(rendered: string, source?: LocationSource): string;
  /** Throws what `put` would throw for a location that is already resolved (e.g. a sidecar's), before anything is written. */
  check?(location: string): void;
  put(req: PutRequest): Promise<PutResult>;
  /** Remove what is at `location`; `removed: false` when nothing was there. */
  remove(location: string, signal: AbortSignal): Promise<{ removed: boolean }>;
  /** Remove what an earlier run left behind (temporary files of a crash); resolves with how many. */
  cleanup?(): Promise<number>;
  /** Check the destination without delivering anything (folder, SFTP, S3; HTTP: see probe.ts). */
  probe?(signal: AbortSignal): Promise<ProbeResult>;
  /** Release connections; aborts nothing by itself (callers abort through their signals). */
  close(): Promise<void>;
}
