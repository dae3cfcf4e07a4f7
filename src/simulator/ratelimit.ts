// Token bucket: `rate` tokens per second, burst `rate`. Rate 0 = unlimited.
import type { RateInfo } from './http';

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(private rate: number, private now: () => number = () => performance.now()) {
    this.tokens = rate;
    this.last = this.now();
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.tokens = rate;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  /** Takes one token; returns the wait in whole seconds when none is left. */
  take(): { ok: true; info: RateInfo } | { ok: false; retryAfter: number; info: RateInfo } {
    if (this.rate <= 0) return { ok: true, info: { limit: 0, current: 0, expires: 0 } };
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, info: this.info() };
    }
    const retryAfter = Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
    return { ok: false, retryAfter, info: this.info() };
  }

  private info(): RateInfo {
    const used = this.rate - this.tokens;
    return { limit: this.rate, current: Math.ceil(used), expires: Math.ceil(used / this.rate) };
  }
}
