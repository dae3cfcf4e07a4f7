/**
 * Keeps track of every secret the client holds (API key, password, tokens, client secret) and removes them
 * from any text that leaves the client: error messages, events, log lines.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(...values: Array<string | undefined | null>): void {
    for (const v of values) {
      if (typeof v === 'string' && v.length >= 4) {
        this.secrets.add(v);
        const enc = encodeURIComponent(v);
        if (enc !== v) this.secrets.add(enc);
      }
    }
  }

  redact = (text: string): string => {
    let out = text;
    // Longest first, so that a secret containing another is removed whole.
    const list = [...this.secrets].sort((a, b) => b.length - a.length);
    for (const s of list) out = out.split(s).join('[redacted]');
    return out.replace(/([?&](?:api_key|token|password|refresh_token|client_secret|code)=)[^&\s#]*/gi, '$1[redacted]');
  };
}
