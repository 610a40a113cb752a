import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { isHotpatchError } from '@hotpatch/core';
import { ensurePrivateDir, socketDir, socketPath } from './paths.js';
import type { ApplyResult, HotpatchRuntime, RuntimeStatus } from './runtime.js';
import type { ThreadAnswer, Threads } from './threads.js';

/** Requests on the local control socket: one JSON object per line, one answer per line. */
export type ControlRequest =
  | { op: 'status' }
  | { op: 'apply'; bundle: string; deadlineMs?: number }
  | { op: 'revert'; patchId: string };

export type ControlResponse = { ok: true; result: unknown } | { ok: false; code: string; error: string };

const MAX_REQUEST = 64 << 20;

/**
 * Serves the runtime over a Unix socket in a 0700 directory, the socket itself 0600: only the
 * process's own user can reach it. It never keeps the process alive.
 */
export function startControlServer(runtime: HotpatchRuntime, threads: Threads): Server {
  ensurePrivateDir(socketDir());
  const path = socketPath(process.pid);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) {
        socket.end(`${JSON.stringify({ ok: false, code: 'E_USAGE', error: 'request too large' })}\n`);
        return;
      }
      let nl = buf.indexOf('\n');
      while (nl !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        handle(runtime, threads, line).then((res) => socket.write(`${JSON.stringify(res)}\n`));
        nl = buf.indexOf('\n');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(path, () => chmodSync(path, 0o600));
  server.unref();
  const cleanup = () => rmSync(path, { force: true });
  process.once('exit', cleanup);
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

async function handle(runtime: HotpatchRuntime, threads: Threads, line: string): Promise<ControlResponse> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, code: 'E_USAGE', error: 'request is not JSON' };
  }
  try {
    switch (req.op) {
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
        const main = runtime.revert(req.patchId);
        const workers = await threads.ask<ApplyResult>({ op: 'revert', patchId: req.patchId }, 5000);
        return { ok: true, result: { ...main, threads: workers } };
      }
      default:
        return { ok: false, code: 'E_USAGE', error: `unknown op ${String((req as { op?: unknown }).op)}` };
    }
  } catch (e) {
    if (isHotpatchError(e)) return { ok: false, code: e.code, error: e.message };
    return { ok: false, code: 'E_APPLY', error: (e as Error).message };
  }
}
