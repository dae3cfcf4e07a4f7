/**
 * The re-issue window: items handed out and not yet acknowledged, each issued again when its
 * acknowledgement does not come back in time. What makes a trigger safe to use as the leader of several
 * workers behind a broker: an MQTT subscriber acknowledges a message to the broker on receipt, so an item
 * whose worker dies is lost from the broker's point of view, and only the leader can hand it out again.
 * A repeat is harmless where the effect is idempotent (the delivery ledger skips what was delivered).
 *
 * Bounded: at most `capacity` items wait; `room()` resolves when there is space. Persistent when given a
 * store: the items are saved before they are sent (and the caller commits its own position only after
 * that), acknowledgements are saved soon after; after a restart the saved items are issued again once
 * their time is up (counted from their last issue), so nothing handed out is forgotten by a crash.
 *
 * Without a timeout (`timeoutMs` Infinity) nothing is issued again while the process runs: the window
 * only remembers what was handed on and not finished, and a start issues again everything a previous run
 * left in it (a poll-mode trigger's events the flow had not finished when the process died).
 */

export interface WindowItem<T> {
  key: string;
  item: T;
  /** When it was last issued (epoch ms). */
  issuedAt: number;
  /** How many times it was issued. */
  issues: number;
}

export interface SavedWindow<T> {
  v: 1;
  /** What the items were made under (a trigger's configuration); another one starts empty. */
  configKey: string;
  items: Array<WindowItem<T>>;
}

export interface WindowStore<T> {
  load(): Promise<SavedWindow<T> | undefined>;
  save(w: SavedWindow<T>): Promise<void>;
}

export interface ReissueOptions<T> {
  /** Issue again after this long without an acknowledgement (ms); Infinity: only after a restart. */
  timeoutMs: number;
  /** Items waiting at most. */
  capacity: number;
  /** Sends an item (first time and again); `issues` counts from 1. */
  send: (item: T, issue: { key: string; issues: number }) => void;
  store?: WindowStore<T>;
  configKey?: string;
  /** How long acknowledgements may wait to be saved (ms, default 250). */
  saveDelayMs?: number;
  now?: () => number;
  /** After every change (status). */
  onChange?: (w: { pending: number; reissued: number }) => void;
  onError?: (e: unknown) => void;
}

export class ReissueWindow<T> {
  private readonly items = new Map<string, WindowItem<T>>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private saveTimer?: NodeJS.Timeout;
  private readonly waiters: Array<() => void> = [];
  private stopped = false;
  /** Items issued again since the start (status, tests). */
  reissued = 0;
  private readonly now: () => number;

  constructor(private readonly o: ReissueOptions<T>) {
    if (!(o.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    if (!(o.capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.items.size;
  }

  /** Places free now. */
  get free(): number {
    return Math.max(0, this.o.capacity - this.items.size);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /**
   * Loads what a previous run left (persistent windows); those items are issued again when due, or at
   * once for a window without a timeout.
   */
  async start(): Promise<number> {
    const saved = await this.o.store?.load();
    const left: Array<WindowItem<T>> = [];
    if (saved && saved.v === 1 && saved.configKey === (this.o.configKey ?? '') && Array.isArray(saved.items)) {
      for (const it of saved.items) {
        if (!it || typeof it.key !== 'string' || this.items.has(it.key)) continue;
        const item = { key: it.key, item: it.item, issuedAt: Number(it.issuedAt) || 0, issues: Number(it.issues) || 1 };
        this.items.set(it.key, item);
        left.push(item);
      }
    }
    if (!Number.isFinite(this.o.timeoutMs) && left.length) {
      const now = this.now();
      for (const it of left) {
        if (!this.items.has(it.key)) continue;
        it.issuedAt = now;
        it.issues++;
        this.reissued++;
        this.o.send(it.item, { key: it.key, issues: it.issues });
      }
      this.scheduleSave();
    }
    this.schedule();
    this.changed();
    return this.items.size;
  }

  /** Resolves with the free places once there is at least one (rejects when `signal` aborts). */
  room(signal?: AbortSignal): Promise<number> {
    const free = () => this.o.capacity - this.items.size;
    if (free() > 0) return Promise.resolve(free());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', stop);
        if (free() > 0) resolve(free());
        else this.waiters.push(wake);
      };
      const stop = () => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal?.aborted) return stop();
      signal?.addEventListener('abort', stop, { once: true });
      this.waiters.push(wake);
    });
  }

  /**
   * Takes the items into the window (saved first, when persistent), then sends each. An item whose key is
   * waiting already is not sent again now: its own timer re-issues it. Resolves with the items sent.
   */
  async issue(batch: Array<{ key: string; item: T }>): Promise<number> {
    const fresh: Array<WindowItem<T>> = [];
    const at = this.now();
    for (const { key, item } of batch) {
      if (this.items.has(key) || fresh.some((f) => f.key === key)) continue;
      fresh.push({ key, item, issuedAt: at, issues: 1 });
    }
    if (!fresh.length) return 0;
    for (const f of fresh) this.items.set(f.key, f);
    if (this.o.store) await this.save();
    for (const f of fresh) if (this.items.has(f.key)) this.o.send(f.item, { key: f.key, issues: 1 });
    this.schedule();
    this.changed();
    return fresh.length;
  }

  /** The item is done: it leaves the window. Unknown keys (acknowledged already, or never issued) are ignored. */
  ack(key: string): boolean {
    if (!this.items.delete(key)) return false;
    this.scheduleSave();
    this.schedule();
    while (this.waiters.length && this.items.size < this.o.capacity) this.waiters.shift()?.();
    this.changed();
    return true;
  }

  /** Stops the timers and saves what waits (it is issued again after the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.o.store) await this.save();
  }

  /** Issues again what is due; the timer calls it (tests may too). */
  reissueDue(): number {
    const now = this.now();
    let n = 0;
    for (const it of this.items.values()) {
      if (now - it.issuedAt < this.o.timeoutMs) continue;
      it.issuedAt = now;
      it.issues++;
      n++;
      this.o.send(it.item, { key: it.key, issues: it.issues });
    }
    if (n) {
      this.reissued += n;
      this.scheduleSave();
      this.changed();
    }
    return n;
  }

  private save(): Promise<void> {
    return (this.o.store as WindowStore<T>).save({ v: 1, configKey: this.o.configKey ?? '', items: [...this.items.values()] });
  }

  private scheduleSave(): void {
    if (!this.o.store || this.saveTimer || this.stopped) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch((e: unknown) => this.o.onError?.(e));
    }, this.o.saveDelayMs ?? 250);
  }

  /** One timer, at the earliest item's due time. */
  private schedule(): void {
    if (this.stopped) return;
    let due = Infinity;
    for (const it of this.items.values()) due = Math.min(due, it.issuedAt + this.o.timeoutMs);
    if (due === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = due;
    if (due === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.reissueDue();
      this.schedule();
    }, Math.max(0, due - this.now()));
  }

  private changed(): void {
    this.o.onChange?.({ pending: this.items.size, reissued: this.reissued });
  }
}
