import { existsSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { HotpatchError } from '@hotpatch/core';
import type { ControlRequest, ControlResponse } from './control.js';
import { socketDir, socketPath } from './paths.js';
import type { ApplyResult, RuntimeStatus } from './runtime.js';

/** Sends one request to a process's runtime over its control socket. */
export function request(pid: number, req: ControlRequest, timeoutMs = 60_000): Promise<unknown> {
  const path = socketPath(pid);
  if (!existsSync(path)) {
    throw new HotpatchError('E_PROCESS', `process ${pid} is not running the hotpatch runtime (no ${path})`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HotpatchError('E_PROCESS', `process ${pid} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      socket.end();
      const res = JSON.parse(buf.slice(0, nl)) as ControlResponse;
      if (res.ok) resolve(res.result);
      else reject(new HotpatchError(res.code as never, res.error));
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(new HotpatchError('E_PROCESS', `cannot reach process ${pid}: ${e.message}`));
    });
  });
}

export const status = (pid: number) => request(pid, { op: 'status' }) as Promise<RuntimeStatus>;
export const applyTo = (pid: number, bundle: Buffer, deadlineMs?: number) =>
  request(pid, {
    op: 'apply',
    bundle: bundle.toString('base64'),
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  }) as Promise<ApplyResult>;
export const revertIn = (pid: number, patchId: string) =>
  request(pid, { op: 'revert', patchId }) as Promise<ApplyResult>;

/** Processes on this host running the runtime (stale sockets are cleaned up). */
export function listProcesses(): number[] {
  const dir = socketDir();
  if (!existsSync(dir)) return [];
  const pids: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^(\d+)\.sock$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    try {
      process.kill(pid, 0);
      pids.push(pid);
    } catch {
      rmSync(`${dir}/${name}`, { force: true });
    }
  }
  return pids.sort((a, b) => a - b);
}
