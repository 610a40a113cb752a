import type { ApplyResult } from './patching.js';

/** Applies, reverts and failures since start, for status (operators read them next to the patches). */
export class Counters {
  readonly #counts = { applies: 0, reverts: 0, failures: 0 };

  snapshot(): { applies: number; reverts: number; failures: number } {
    return { ...this.#counts };
  }

  async count(op: () => Promise<ApplyResult>): Promise<ApplyResult> {
    return this.countSync(() => op()).then(
      (r) => this.#tally(r),
      (e) => {
        this.#counts.failures++;
        throw e;
      },
    );
  }

  countSync<T>(op: () => T): T {
    try {
      const r = op();
      return r instanceof Promise ? r : (this.#tally(r as ApplyResult) as T);
    } catch (e) {
      this.#counts.failures++;
      throw e;
    }
  }

  #tally(r: ApplyResult): ApplyResult {
    if (r.state === 'applied') this.#counts.applies++;
    else if (r.state === 'reverted') this.#counts.reverts++;
    return r;
  }
}
