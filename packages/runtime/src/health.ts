/**
 * Health signals of this process, measured without the app's help, in one-second buckets kept for
 * at most a day: HTTP responses by status class (diagnostics_channel
 * `http.server.response.finish`, Node >= 18.7), uncaught exceptions and unhandled rejections
 * (`uncaughtExceptionMonitor`, which observes without changing what the process does: an
 * unhandled error still crashes it as before), and event-loop delay p99
 * (`perf_hooks.monitorEventLoopDelay`). Started by the fleet agent only, so that processes without
 * a control plane pay nothing.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { HEALTH_MAX_WINDOW_MS, type HealthWindow } from '@hotpatch/protocol';

interface Bucket {
  start: number;
  end: number;
  responses: [number, number, number, number, number];
  uncaught: number;
  rejections: number;
  /** p99 of the loop delay over the bucket, ms; null without samples. */
  loopP99: number | null;
}

const RESPONSE_CHANNEL = 'http.server.response.finish';

export class HealthMonitor {
  readonly #bucketMs: number;
  #max: number;
  readonly #buckets: Bucket[] = [];
  #current: Bucket;
  #timer: NodeJS.Timeout | null = null;
  #loop: IntervalHistogram | null = null;
  readonly #onResponse = (msg: unknown) => {
    const code = (msg as { response?: ServerResponse }).response?.statusCode ?? 0;
    const cls = Math.floor(code / 100) - 1;
    if (cls >= 0 && cls < 5) this.#current.responses[cls as 0 | 1 | 2 | 3 | 4]++;
  };
  readonly #onError = (_e: unknown, origin: string) => {
    if (origin === 'unhandledRejection') this.#current.rejections++;
    else this.#current.uncaught++;
  };
  /** Under --unhandled-rejections=warn the rejection is only a warning: count it there. */
  readonly #onWarning = (w: Error) => {
    // Node warns with the rejection itself, then (once) with an explanation: count the former.
    if (
      w.name === 'UnhandledPromiseRejectionWarning' &&
      !w.message.startsWith('Unhandled promise rejection.')
    )
      this.#current.rejections++;
  };

  constructor(opts: { bucketMs?: number } = {}) {
    this.#bucketMs = opts.bucketMs ?? 1_000;
    this.#max = Math.ceil((15 * 60_000) / this.#bucketMs);
    this.#current = this.#fresh(Date.now());
  }

  start(): void {
    if (this.#timer) return;
    diagnostics.subscribe(RESPONSE_CHANNEL, this.#onResponse);
    process.on('uncaughtExceptionMonitor', this.#onError);
    process.on('warning', this.#onWarning);
    try {
      this.#loop = monitorEventLoopDelay({ resolution: 10 });
      this.#loop.enable();
    } catch {
      this.#loop = null; // a Node without it: the loop signal is reported as null
    }
    this.#current = this.#fresh(Date.now());
    this.#timer = setInterval(() => this.mark(), this.#bucketMs);
    this.#timer.unref();
  }

  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = null;
    diagnostics.unsubscribe(RESPONSE_CHANNEL, this.#onResponse);
    process.off('uncaughtExceptionMonitor', this.#onError);
    process.off('warning', this.#onWarning);
    this.#loop?.disable();
    this.#loop = null;
  }

  /** Keeps enough history for a before-window of ms (at most a day: 86,400 one-second buckets, a few MB). */
  retain(ms: number): void {
    this.#max = Math.max(this.#max, Math.ceil(Math.min(ms, HEALTH_MAX_WINDOW_MS) / this.#bucketMs) + 2);
  }

  /** Closes the current bucket now: a window that starts or ends here is exact. Returns the time. */
  mark(now = Date.now()): number {
    const b = this.#current;
    b.end = now;
    if (this.#loop) {
      b.loopP99 = this.#loop.count > 0 ? this.#loop.percentile(99) / 1e6 : null;
      this.#loop.reset();
    }
    this.#buckets.push(b);
    if (this.#buckets.length > this.#max) this.#buckets.splice(0, this.#buckets.length - this.#max);
    this.#current = this.#fresh(now);
    return now;
  }

  /** The closed buckets within [from, to], summed. Loop p99: the mean of the buckets' p99s. */
  window(from: number, to: number): HealthWindow {
    const inside = this.#buckets.filter((b) => b.start >= from && b.end <= to);
    const responses = [0, 0, 0, 0, 0];
    let uncaught = 0;
    let rejections = 0;
    const p99s: number[] = [];
    for (const b of inside) {
      b.responses.forEach((n, i) => {
        responses[i] = (responses[i] as number) + n;
      });
      uncaught += b.uncaught;
      rejections += b.rejections;
      if (b.loopP99 !== null) p99s.push(b.loopP99);
    }
    const start = inside[0]?.start ?? to;
    const end = inside.at(-1)?.end ?? to;
    const [s1xx, s2xx, s3xx, s4xx, s5xx] = responses as [number, number, number, number, number];
    return {
      startedAt: new Date(start).toISOString(),
      ms: Math.min(HEALTH_MAX_WINDOW_MS, Math.max(0, end - start)),
      responses: { s1xx, s2xx, s3xx, s4xx, s5xx },
      uncaughtExceptions: uncaught,
      unhandledRejections: rejections,
      loopP99Ms: p99s.length
        ? Math.round((p99s.reduce((a, b) => a + b, 0) / p99s.length) * 1000) / 1000
        : null,
    };
  }

  #fresh(now: number): Bucket {
    return { start: now, end: now, responses: [0, 0, 0, 0, 0], uncaught: 0, rejections: 0, loopP99: null };
  }
}
