/**
 * Groups work items into one database round trip: items added within `delayMs` (or until
 * `maxItems`) are flushed together by one call; flushes run one at a time, in order, so a later
 * write never lands before an earlier one. Each add() resolves with its item's result.
 */
export class Batcher<T, R> {
  #items: Array<{ item: T; resolve: (r: R) => void; reject: (e: Error) => void }> = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly delayMs = 5,
    private readonly maxItems = 1000,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#items.push({ item, resolve, reject });
      if (this.#items.length >= this.maxItems) this.#kick(0);
      else this.#kick(this.delayMs);
    });
  }

  /** Resolves when everything added so far has been flushed. */
  async drain(): Promise<void> {
    if (this.#items.length > 0) this.#kick(0);
    await this.#running;
    if (this.#items.length > 0) await this.drain();
  }

  #kick(ms: number): void {
    if (this.#timer && ms > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const batch = this.#items;
      this.#items = [];
      if (batch.length === 0) return;
      this.#running = this.#running.then(async () => {
        try {
          const out = await this.flushFn(batch.map((b) => b.item));
          for (const [i, b] of batch.entries()) b.resolve(out[i] as R);
        } catch (e) {
          for (const b of batch) b.reject(e as Error);
        }
      });
    }, ms);
  }
}
