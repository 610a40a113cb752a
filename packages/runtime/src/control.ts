import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { isHotpatchError } from '@hotpatch/core';
import { ensurePrivateDir, socketDir, socketPath } from './paths.js';
import type { HotpatchRuntime } from './runtime.js';

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
export function startControlServer(runtime: HotpatchRuntime): Server {
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
        handle(runtime, line).then((res) => socket.write(`${JSON.stringify(res)}\n`));
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

async function handle(runtime: HotpatchRuntime, line: string): Promise<ControlResponse> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, code: 'E_USAGE', error: 'request is not JSON' };
  }
  try {
    switch (req.op) {
      case 'status':
        return { ok: true, result: runtime.status() };
      case 'apply':
        if (typeof req.bundle !== 'string')
          return { ok: false, code: 'E_USAGE', error: 'apply needs bundle (base64)' };
        return {
          ok: true,
          result: await runtime.apply(
            Buffer.from(req.bundle, 'base64'),
            req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs },
          ),
        };
      case 'revert':
        if (typeof req.patchId !== 'string')
          return { ok: false, code: 'E_USAGE', error: 'revert needs patchId' };
        return { ok: true, result: runtime.revert(req.patchId) };
      default:
        return { ok: false, code: 'E_USAGE', error: `unknown op ${String((req as { op?: unknown }).op)}` };
    }
  } catch (e) {
    if (isHotpatchError(e)) return { ok: false, code: e.code, error: e.message };
    return { ok: false, code: 'E_APPLY', error: (e as Error).message };
  }
}
