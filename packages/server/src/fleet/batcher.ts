/**
 * Groups work items into one database round trip: items added within `delayMs` (or until
 * `maxItems`) are flushed together by one call; flushes run one at a time, in order, so a later
 * write never lands before an earlier one. Each add() resolves with its item's result.
 *
 * One bad item (a row the database refuses) must not fail the others: when a batch fails, its
 * items are retried one by one, and only the items that fail alone are rejected (and reported
 * to onDropped, one line each).
 */
export class Batcher<T, R> {
  #items: Array<{ item: T; resolve: (r: R) => void; reject: (e: Error) => void }> = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly delayMs = 5,
    private readonly maxItems = 1000,
    private readonly onDropped: (item: T, e: Error) => void = () => {},
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#items.push({ item, resolve, reject });
      if (this.#items.length >= this.maxItems) this.#kick(0);
      else this.#kick(this.delayMs);
    });
  }

  /**
   * Resolves when everything added so far has been flushed. The pending items are queued at once:
   * waiting for the timer instead would spin (the awaited flush chain is already settled, so the
   * check would run again before any timer could fire).
   */
  async drain(): Promise<void> {
    this.#flush();
    await this.#running;
    if (this.#items.length > 0) await this.drain();
  }

  #kick(ms: number): void {
    if (this.#timer && ms > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), ms);
  }

  /** Queues the items added so far as one batch behind the running ones. */
  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#items;
    this.#items = [];
    if (batch.length === 0) return;
    this.#running = this.#running.then(() => this.#run(batch));
  }

  async #run(batch: Array<{ item: T; resolve: (r: R) => void; reject: (e: Error) => void }>): Promise<void> {
    try {
      const out = await this.flushFn(batch.map((b) => b.item));
      for (const [i, b] of batch.entries()) b.resolve(out[i] as R);
      return;
    } catch (e) {
      if (batch.length === 1) {
        this.onDropped((batch[0] as (typeof batch)[0]).item, e as Error);
        return (batch[0] as (typeof batch)[0]).reject(e as Error);
      }
    }
    // Isolate the bad item(s): one by one, in order.
    for (const b of batch) {
      try {
        b.resolve(((await this.flushFn([b.item])) as R[])[0] as R);
      } catch (e) {
        this.onDropped(b.item, e as Error);
        b.reject(e as Error);
      }
    }
  }
}
