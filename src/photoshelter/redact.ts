/**
 * Keeps track of every secret the client holds (API key, password, tokens, client secret) and removes them
 * from any text that leaves the client: error messages, events, log lines. Each secret in every form it can
 * take on the way (as it is, URL-encoded, JSON-escaped, base64: see src/net/scrub.ts), and the values of
 * secret query parameters.
 */
import { scrubberOf } from '../net/scrub';

export class Redactor {
  private readonly secrets = new Set<string>();
  private scrub: (text: string) => string = (t) => t;

  add(...values: Array<string | undefined | null>): void {
    let added = false;
    for (const v of values) {
      if (typeof v === 'string' && v.length >= 4 && !this.secrets.has(v)) {
        this.secrets.add(v);
        added = true;
      }
    }
    if (added) this.scrub = scrubberOf(this.secrets, { mask: '[redacted]', minLength: 4 });
  }

  redact = (text: string): string =>
    this.scrub(text).replace(/([?&](?:api_key|token|password|refresh_token|client_secret|code)=)[^&\s#]*/gi, '$1[redacted]');
}
