/**
 * Groups work items into one database round trip: items added within `delayMs` (or until
 * `maxItems`) are flushed together by one call; flushes run one at a time, in order, so a later
 * write never lands before an earlier one. Each add() resolves with its item's result.
 *
 * Items that arrive while a flush runs wait for it and then go together (group commit), up to
 * `maxItems` per call: cutting a batch every `delayMs` regardless queued dozens of small
 * statements behind a slow one when the database was busy (a replica's devices failing over),
 * and on this kind of machine each round trip costs the server more than its rows do.
 *
 * One bad item (a row the database refuses) must not fail the others: when a batch fails, it is
 * split in halves, each tried again (and split again if it fails), so that only the items that
 * fail alone are rejected (and reported to onDropped, one line each). Halving, not item by item:
 * a batch of 2,000 that failed for a passing reason (a deadlock with another replica's batch) was
 * retried as 2,000 statements of one row each, a few a second on a loaded database, for minutes.
 */
type Entry<T, R> = { item: T; resolve: (r: R) => void; reject: (e: Error) => void };

export class Batcher<T, R> {
  #items: Array<Entry<T, R>> = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #busy = false;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly delayMs = 5,
    private readonly maxItems = 1000,
    private readonly onDropped: (item: T, e: Error) => void = () => {},
    /** A whole batch failed and is being split (how many items, why). */
    private readonly onSplit: (size: number, e: Error) => void = () => {},
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
    this.#flush();
    while (this.#busy || this.#items.length > 0) {
      await this.#running;
      this.#flush();
    }
  }

  #kick(ms: number): void {
    if (this.#busy) return; // the running flush takes these when it ends
    if (this.#timer && ms > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), ms);
  }

  /** Starts a flush of the items added so far (up to maxItems), unless one is running. */
  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#busy || this.#items.length === 0) return;
    const batch = this.#items.splice(0, this.maxItems);
    this.#busy = true;
    this.#running = this.#run(batch).finally(() => {
      this.#busy = false;
      this.#flush();
    });
  }

  async #run(batch: Array<Entry<T, R>>): Promise<void> {
    if (batch.length === 0) return;
    try {
      const out = await this.flushFn(batch.map((b) => b.item));
      for (const [i, b] of batch.entries()) b.resolve(out[i] as R);
    } catch (e) {
      const [first] = batch as [Entry<T, R>];
      if (batch.length === 1) {
        this.onDropped(first.item, e as Error);
        return first.reject(e as Error);
      }
      this.onSplit(batch.length, e as Error);
      // The first half lands before the second: a later write still never lands first.
      const mid = batch.length >> 1;
      await this.#run(batch.slice(0, mid));
      await this.#run(batch.slice(mid));
    }
  }
}
