/** Per-device limits on what devices send (pure: the clock is passed in). */

/** Token buckets per key: `capacity` messages at once, refilled at `perSecond`. */
export class TokenBuckets {
  readonly #b = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token; false when the key is over its rate. */
  take(key: string): boolean {
    const t = this.now();
    const b = this.#b.get(key) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.#b.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  delete(key: string): void {
    this.#b.delete(key);
  }
}

/** At most `max` units per key in each window of `windowMs` (error counts devices report). */
export class WindowBudget {
  readonly #w = new Map<string, { start: number; used: number }>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many of `n` units count now (0 when the key's window is used up). */
  take(key: string, n: number): number {
    const t = this.now();
    let w = this.#w.get(key);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: t, used: 0 };
      this.#w.set(key, w);
    }
    const granted = Math.max(0, Math.min(n, this.max - w.used));
    w.used += granted;
    return granted;
  }

  /** Forgets windows that have ended (bounded memory). */
  sweep(): void {
    const t = this.now();
    for (const [k, w] of this.#w) if (t - w.start >= this.windowMs) this.#w.delete(k);
  }
}
