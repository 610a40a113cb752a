import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { isHotpatchError } from '@hotpatch/core';
import { LineReader } from './lines.js';
import { ensurePrivateDir, socketDir, socketPath } from './paths.js';
import type { ApplyResult, HotpatchRuntime, RuntimeStatus } from './runtime.js';
import { cleanUpOnSignals } from './signals.js';
import type { ThreadAnswer, Threads } from './threads.js';

/**
 * Requests on the local control socket: one JSON object per line, one answer per line. A request
 * may carry an `id`; its answer carries the same one (answers to pipelined requests can come in
 * any order: a status is not held up by an apply that waits for a running function).
 */
export type ControlRequest = (
  | { op: 'status' }
  | { op: 'apply'; bundle: string; deadlineMs?: number }
  | { op: 'revert'; patchId: string; deadlineMs?: number }
) & { id?: string | number };

export type ControlResponse = ({ ok: true; result: unknown } | { ok: false; code: string; error: string }) & {
  id?: string | number;
};

/** A bundle is at most 16 MiB (the catalog's limit); base64 and JSON around it stay below this. */
export const MAX_REQUEST = 32 << 20;

/**
 * Serves the runtime over a Unix socket in a 0700 directory, the socket itself 0600: only the
 * process's own user can reach it. It never keeps the process alive, and the socket is removed
 * when the process exits or dies of SIGTERM, SIGINT or SIGHUP.
 */
export function startControlServer(runtime: HotpatchRuntime, threads: Threads): Server {
  ensurePrivateDir(socketDir());
  const path = socketPath(process.pid);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    const reader = new LineReader(MAX_REQUEST);
    socket.on('data', (chunk: Buffer) => {
      const read = reader.push(chunk);
      for (const line of read.lines) {
        void answer(runtime, threads, line).then((res) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(res)}\n`);
        });
      }
      if (read.tooLarge) {
        const error = `request too large: more than ${MAX_REQUEST >> 20} MiB without a newline (a bundle is at most 16 MiB)`;
        socket.end(`${JSON.stringify({ ok: false, code: 'E_USAGE', error } satisfies ControlResponse)}\n`);
        socket.pause();
      }
    });
    socket.on('error', () => {});
  });
  server.on('error', (e) => {
    process.stderr.write(`hotpatch: warning: control socket ${path} stopped: ${e.message}\n`);
  });
  server.listen(path, () => {
    try {
      chmodSync(path, 0o600);
    } catch {
      // removed under us: the server's error handler or the next ps says so
    }
  });
  server.unref();
  cleanUpOnSignals(() => rmSync(path, { force: true }));
  return server;
}

/** The process-wide result: not applied unless every thread that has the target applied it. */
function withThreads(
  main: ApplyResult,
  workers: ThreadAnswer<ApplyResult>[],
): ApplyResult & { threads: ThreadAnswer<ApplyResult>[] } {
  const failed = workers.find((w) => !w.ok);
  if (failed)
    return {
      ...main,
      state: 'pending',
      reason: `thread ${failed.threadId}: ${failed.error}`,
      threads: workers,
    };
  const waiting = workers.find((w) => w.result?.state === 'pending');
  if (waiting)
    return {
      ...main,
      state: 'pending',
      reason: `thread ${waiting.threadId}: ${waiting.result?.reason ?? ''}`,
      threads: workers,
    };
  const anyApplied = [main, ...workers.map((w) => w.result!)].some(
    (r) => r.state === 'applied' || r.state === 'already-applied',
  );
  const modules = main.modules + workers.reduce((n, w) => n + (w.result?.modules ?? 0), 0);
  if (main.state === 'staged' && anyApplied) {
    const { reason: _staged, ...rest } = main;
    return { ...rest, state: 'applied', modules, threads: workers };
  }
  return { ...main, modules, threads: workers };
}

/** A process is reverted when every thread is: a thread still waiting makes the revert pending. */
function revertedEverywhere(
  main: ApplyResult | null,
  workers: ThreadAnswer<ApplyResult>[],
  patchId: string,
): ApplyResult & { threads: ThreadAnswer<ApplyResult>[] } {
  // A thread that never had the patch has nothing to revert.
  const relevant = workers.filter((w) => w.ok || w.code !== 'E_NOT_FOUND');
  const base: ApplyResult = main ??
    relevant.find((w) => w.ok)?.result ?? {
      patchId,
      version: '',
      target: '',
      state: 'reverted',
      modules: 0,
    };
  const failed = relevant.find((w) => !w.ok);
  if (failed)
    return {
      ...base,
      state: 'failed',
      reason: `thread ${failed.threadId}: ${failed.error}`,
      threads: workers,
    };
  const waiting = [main, ...relevant.map((w) => w.result)].find((r) => r?.state === 'revert-pending');
  if (waiting) {
    const who =
      waiting === main ? 'main thread' : `thread ${relevant.find((w) => w.result === waiting)?.threadId}`;
    return { ...base, state: 'revert-pending', reason: `${who}: ${waiting.reason ?? ''}`, threads: workers };
  }
  return { ...base, state: 'reverted', modules: 0, threads: workers };
}

async function answer(runtime: HotpatchRuntime, threads: Threads, line: string): Promise<ControlResponse> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, code: 'E_USAGE', error: 'request is not JSON' };
  }
  const id = typeof req?.id === 'string' || typeof req?.id === 'number' ? { id: req.id } : {};
  try {
    return { ...(await handle(runtime, threads, req)), ...id };
  } catch (e) {
    if (isHotpatchError(e)) return { ok: false, code: e.code, error: e.message, ...id };
    return { ok: false, code: 'E_APPLY', error: (e as Error).message, ...id };
  }
}

async function handle(
  runtime: HotpatchRuntime,
  threads: Threads,
  req: ControlRequest,
): Promise<ControlResponse> {
  switch (req?.op) {
    case 'status': {
      const workers = await threads.ask<RuntimeStatus>({ op: 'status' }, 2000);
      return { ok: true, result: { ...runtime.status(), threads: workers } };
    }
    case 'apply': {
      if (typeof req.bundle !== 'string')
        return { ok: false, code: 'E_USAGE', error: 'apply needs bundle (base64)' };
      const bytes = Buffer.from(req.bundle, 'base64');
      const opts = req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs };
      const main = await runtime.apply(bytes, opts);
      // Then every worker thread: a process is patched when all its threads are.
      const workers = await threads.ask<ApplyResult>(
        { op: 'apply', bundle: bytes, ...opts },
        (req.deadlineMs ?? 10_000) + 5000,
      );
      return { ok: true, result: withThreads(main, workers) };
    }
    case 'revert': {
      if (typeof req.patchId !== 'string')
        return { ok: false, code: 'E_USAGE', error: 'revert needs patchId' };
      const opts = req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs };
      // Every thread reverts at once, each retrying on its own until the deadline.
      const [main, workers] = await Promise.all([
        runtime.revertWithin(req.patchId, opts).catch((e: unknown) => {
          if (isHotpatchError(e) && e.code === 'E_NOT_FOUND') return null;
          throw e;
        }),
        threads.ask<ApplyResult>(
          { op: 'revert', patchId: req.patchId, ...opts },
          (req.deadlineMs ?? 10_000) + 5000,
        ),
      ]);
      if (!main && !workers.some((w) => w.ok || w.code !== 'E_NOT_FOUND')) {
        return { ok: false, code: 'E_NOT_FOUND', error: `no patch ${req.patchId} in this process` };
      }
      return { ok: true, result: revertedEverywhere(main, workers, req.patchId) };
    }
    default:
      return { ok: false, code: 'E_USAGE', error: `unknown op ${String((req as { op?: unknown })?.op)}` };
  }
}
