/**
 * A file of an asset as a message payload that downloads only when it is read. The fetch node's stream
 * mode hands it on instead of an open download, so that:
 *
 * - a reader that opens the file itself (a delivery) asks `open()` for a download of its own, after it has
 *   consulted its ledger: a file delivered already is never downloaded, and a retry opens it again;
 * - any other reader reads the payload as a stream, which opens its download at the first read;
 * - a message that Node-RED copies for a second wire (`RED.util.cloneMessage`) carries a copy that has not
 *   opened anything either: each copy opens its own download when it is read, or none.
 *
 * The download's headers are on the stream once it is open (`fileName`, `contentType`, `contentLength`);
 * before, the node says in `msg.file` what the asset tells of the file.
 */
import { Readable } from 'node:stream';
import type { DownloadFileType } from '../../photoshelter';
import type { FileStream } from './files';

/** Opens a new download of the file; `signal` ends it. */
export type Opener = (signal: AbortSignal) => Promise<FileStream>;

export class LazyBody extends Readable {
  contentType?: string;
  contentLength?: number;
  fileName?: string;
  /** Set once this stream has begun its own download (a read). */
  private source?: FileStream;
  private stop?: AbortController;
  private starting = false;

  constructor(
    private readonly opener: Opener,
    /** The file type downloaded (original, or a rendition): only an original's bytes tell its version. */
    readonly fileType: DownloadFileType,
    /** Told of an error of this stream that no reader listens for (as no other listener is there). */
    unobserved?: (error: unknown) => void,
  ) {
    super();
    if (unobserved) {
      // a function, not an arrow: a copy made by cloneMessage calls it with itself as `this`
      this.on('error', function (this: LazyBody, e: unknown) {
        if (this.listenerCount('error') === 1) unobserved(e);
      });
    }
  }

  /** A download of the file of its own, for a reader that opens the file itself; this stream stays as it is. */
  open(signal: AbortSignal): Promise<FileStream> {
    return this.opener(signal);
  }

  /** Whether this stream has begun its own download. */
  get started(): boolean {
    return this.starting;
  }

  override _read(): void {
    if (this.source) {
      this.source.resume();
      return;
    }
    if (this.starting) return;
    this.starting = true;
    const stop = new AbortController();
    this.stop = stop;
    this.opener(stop.signal).then(
      (s) => {
        if (this.destroyed) return void s.destroy();
        this.source = s;
        this.fileName = s.fileName;
        this.contentType = s.contentType;
        this.contentLength = s.contentLength;
        s.on('data', (chunk: Buffer) => {
          if (!this.push(chunk)) s.pause();
        });
        s.once('end', () => this.push(null));
        s.once('error', (e) => this.destroy(e));
      },
      (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stop?.abort(error ?? undefined);
    if (this.source && !this.source.destroyed) this.source.destroy();
    callback(error);
  }
}

/** A payload that downloads only when read (by this or an earlier version of the package: duck-typed). */
export function isLazyBody(v: unknown): v is LazyBody {
  return v instanceof Readable && typeof (v as Partial<LazyBody>).open === 'function' && typeof (v as Partial<LazyBody>).fileType === 'string';
}
