import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { isHotpatchError } from '@hotpatch/core';
import type { ApplyResult, HotpatchRuntime, RuntimeStatus } from './runtime.js';

/**
 * Worker threads run their own runtime (the preload runs in every thread). The main thread's
 * control socket reaches them over a BroadcastChannel: a patch applied to a process is applied
 * in all of its threads.
 */
export type ThreadRequest =
  | { op: 'apply'; bundle: Uint8Array; deadlineMs?: number }
  | { op: 'revert'; patchId: string; deadlineMs?: number }
  | { op: 'status' };
type Request = ThreadRequest & { kind: 'req'; id: number };
type Response =
  | { kind: 'res'; id: number; threadId: number; ok: true; result: unknown }
  | { kind: 'res'; id: number; threadId: number; ok: false; code: string; error: string };
type Hello = { kind: 'hello'; threadId: number };

export interface ThreadAnswer<T> {
  threadId: number;
  ok: boolean;
  result?: T;
  code?: string;
  error?: string;
}

const CHANNEL = 'hotpatch:runtime';

export class Threads {
  readonly #channel = new BroadcastChannel(CHANNEL);
  readonly #workers = new Set<number>();
  readonly #waiting = new Map<number, (r: Response) => void>();
  #next = 1;

  constructor(runtime: HotpatchRuntime) {
    (this.#channel as unknown as { unref(): void }).unref();
    this.#channel.onmessage = (event) => {
      const msg = (event as MessageEvent).data as Request | Response | Hello;
      if (isMainThread) {
        if (msg.kind === 'hello') this.#workers.add(msg.threadId);
        if (msg.kind === 'res') this.#waiting.get(msg.id)?.(msg);
      } else if (msg.kind === 'req') {
        void this.#serve(runtime, msg);
      }
    };
    if (!isMainThread) this.#channel.postMessage({ kind: 'hello', threadId } satisfies Hello);
  }

  async #serve(runtime: HotpatchRuntime, req: Request): Promise<void> {
    let res: Response;
    try {
      const result =
        req.op === 'apply'
          ? await runtime.apply(
              Buffer.from(req.bundle),
              req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs },
            )
          : req.op === 'revert'
            ? await runtime.revertWithin(
                req.patchId,
                req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs },
              )
            : runtime.status();
      res = { kind: 'res', id: req.id, threadId, ok: true, result };
    } catch (e) {
      res = {
        kind: 'res',
        id: req.id,
        threadId,
        ok: false,
        code: isHotpatchError(e) ? e.code : 'E_APPLY',
        error: (e as Error).message,
      };
    }
    this.#channel.postMessage(res);
  }

  /** Asks every worker thread; threads that do not answer in time are forgotten (they exited). */
  async ask<T>(req: ThreadRequest, timeoutMs: number): Promise<ThreadAnswer<T>[]> {
    if (this.#workers.size === 0) return [];
    const id = this.#next++;
    const answers: ThreadAnswer<T>[] = [];
    const pending = new Set(this.#workers);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiting.set(id, (r) => {
        pending.delete(r.threadId);
        answers.push(
          r.ok
            ? { threadId: r.threadId, ok: true, result: r.result as T }
            : { threadId: r.threadId, ok: false, code: r.code, error: r.error },
        );
        if (pending.size === 0) done();
      });
      this.#channel.postMessage({ ...req, kind: 'req', id } as Request);
    });
    this.#waiting.delete(id);
    for (const gone of pending) this.#workers.delete(gone);
    return answers.sort((a, b) => a.threadId - b.threadId);
  }
}

export type ThreadApply = ThreadAnswer<ApplyResult>;
export type ThreadStatus = ThreadAnswer<RuntimeStatus>;
