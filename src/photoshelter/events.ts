import { EventEmitter } from 'node:events';
import type { Redactor } from './redact';

export type AuthMode = 'session' | 'oauth' | 'bearer';

/** Payloads of the client's events. None of them ever carries a credential. */
export interface ClientEvents {
  request: [{ method: string; path: string; status?: number; attempt: number; durationMs: number; error?: string }];
  retry: [{ method: string; path: string; attempt: number; delayMs: number; reason: string }];
  ratelimited: [{ method: string; path: string; retryAfterMs?: number; backoffUntil?: number; limit: number }];
  limit: [{ limit: number; previous: number; reason: 'ratelimited' | 'recovered' }];
  backoff: [{ until: number; ms: number }];
  auth: [{ mode: AuthMode; action: 'login' | 'organization' | 'refresh' | 'exchange' | 'reauthenticate' | 'logout' | 'rejected'; orgId?: string }];
  warning: [{ code: string; message: string }];
  window: [{ start: string; end: string; total: number; action: 'split' | 'page' | 'reread' | 'done' }];
}

export type ClientEventName = keyof ClientEvents;

/** Emits typed events and mirrors each one, redacted, to the optional logger. */
export class EventHub extends EventEmitter<ClientEvents> {
  constructor(
    private readonly redactor: Redactor,
    private readonly logger?: (line: string) => void,
  ) {
    super();
  }

  fire<K extends ClientEventName>(name: K, ...args: ClientEvents[K]): void {
    if (!this.logger && this.listenerCount(name) === 0) return;
    // payloads are built without credentials; the redaction is a second line of defence for texts
    // that come from elsewhere (server details, host callbacks)
    const text = this.redactor.redact(JSON.stringify(args[0]));
    const payload: unknown = JSON.parse(text);
    if (this.logger) {
      try {
        this.logger(`photoshelter ${name} ${text}`);
      } catch {
        // a failing logger must not break requests
      }
    }
    (this.emit as (event: string, ...a: unknown[]) => boolean)(name, payload);
  }

  log(line: string): void {
    if (!this.logger) return;
    try {
      this.logger(this.redactor.redact(line));
    } catch {
      // ignore
    }
  }
}
