/**
 * PostgreSQL aborts one of two transactions that wait on each other (deadlock, 40P01) or that
 * cannot be serialized (40001); the aborted one changed nothing and succeeds when run again. Rows
 * of `devices` are written by batches of many devices, by deployment planning and by the status
 * column refresh, in orders no single lock order covers: retrying is the general remedy.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['40P01', '40001']);

export function isTransient(e: unknown): boolean {
  return typeof e === 'object' && e !== null && TRANSIENT_CODES.has(String((e as { code?: unknown }).code));
}

export interface RetryOptions {
  /** Runs in all (the first included). */
  attempts: number;
  /** The wait before the second run; doubles each time, with jitter (peers must not collide again). */
  baseDelayMs: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseDelayMs: 20 };

/** Runs fn, again while it fails with a transient error, up to `attempts` runs; rethrows the last. */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  opts: RetryOptions = DEFAULT_RETRY,
): Promise<T> {
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= opts.attempts || !isTransient(e)) throw e;
      await sleep(opts.baseDelayMs * 2 ** (attempt - 1) * (0.5 + random()));
    }
  }
}
