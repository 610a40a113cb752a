import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { HotpatchError } from '@hotpatch/core';
import type { ControlRequest, ControlResponse } from './control.js';
import { launcherFile, socketDir, socketPath } from './paths.js';
import type { ApplyResult, RuntimeStatus } from './runtime.js';

/** What the runtime's apply and revert wait at most by default (HotpatchRuntime's pendingDeadlineMs). */
const DEFAULT_DEADLINE_MS = 10_000;
/** Worker threads get the deadline plus 5 s; then the answer has to travel and be verified. */
const ANSWER_MARGIN_MS = 15_000;

/**
 * How long the client waits for an answer: an apply or revert may wait `deadlineMs` for a running
 * function in every thread, so the client waits that long plus a margin, never less than asked.
 */
export function answerTimeoutMs(req: ControlRequest): number {
  if (req.op === 'apply' || req.op === 'revert')
    return (req.deadlineMs ?? DEFAULT_DEADLINE_MS) + ANSWER_MARGIN_MS;
  return 30_000;
}

/** Why a process cannot be reached, in words a user can act on. */
function unreachable(pid: number, e: NodeJS.ErrnoException, path: string): HotpatchError {
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new HotpatchError(
      'E_PROCESS',
      `permission denied on ${path}: run as the process's user (the control socket is private to it)`,
    );
  }
  if (e.code === 'ENOENT') {
    const child = launcherChild(pid);
    if (child)
      return new HotpatchError('E_PROCESS', `pid ${pid} is the hotpatch launcher; the app is pid ${child}`);
    return new HotpatchError('E_PROCESS', `process ${pid} is not running the hotpatch runtime (no ${path})`);
  }
  if (e.code === 'ECONNREFUSED') {
    rmSync(path, { force: true });
    return new HotpatchError(
      'E_PROCESS',
      `process ${pid} is not running the hotpatch runtime (stale socket ${path} removed)`,
    );
  }
  return new HotpatchError('E_PROCESS', `cannot reach process ${pid}: ${e.message}`);
}

/** The app's pid when `pid` is a `hotpatch run` launcher (it leaves a note beside the sockets). */
function launcherChild(pid: number): number | null {
  try {
    const child = Number(JSON.parse(readFileSync(launcherFile(pid), 'utf8')).child);
    // A note left by a launcher that was killed says nothing about a process that reuses its pid.
    return Number.isInteger(child) && child > 0 && alive(child) ? child : null;
  } catch {
    return null;
  }
}

let nextId = 1;

/** Sends one request to a process's runtime over its control socket. */
export function request(
  pid: number,
  req: ControlRequest,
  timeoutMs = answerTimeoutMs(req),
): Promise<unknown> {
  const path = socketPath(pid);
  try {
    statSync(path);
  } catch (e) {
    throw unreachable(pid, e as NodeJS.ErrnoException, path);
  }
  const id = `${process.pid}-${nextId++}`;
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      const what =
        req.op === 'status'
          ? ''
          : `; the runtime may still be working on the ${req.op}: see hotpatch status --pid ${pid}`;
      reject(
        new HotpatchError(
          'E_PROCESS',
          `gave up waiting for process ${pid} after ${Math.round(timeoutMs / 1000)} s${what}`,
        ),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ ...req, id })}\n`));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let res: ControlResponse;
        try {
          res = JSON.parse(line) as ControlResponse;
        } catch {
          continue;
        }
        // Older runtimes do not echo ids; ours answer exactly this request.
        if (res.id !== undefined && res.id !== id) continue;
        clearTimeout(timer);
        socket.end();
        if (res.ok) resolve(res.result);
        else reject(new HotpatchError(res.code as never, res.error));
        return;
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(unreachable(pid, e, path));
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
export const revertIn = (pid: number, patchId: string, deadlineMs?: number) =>
  request(pid, {
    op: 'revert',
    patchId,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  }) as Promise<ApplyResult>;

/** Does anything listen on a Unix socket? (A dead process's socket refuses connections.) */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(true)); // busy, not dead
    s.on('connect', () => done(true));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT'));
  });
}

/**
 * Processes on this host running the runtime. Sockets nobody listens on (the process died, or its
 * pid was reused by another program) are removed; a directory the user cannot read is an error
 * that says so.
 */
export async function listProcesses(): Promise<number[]> {
  const dir = socketDir();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'EACCES' || code === 'EPERM')
      throw new HotpatchError(
        'E_PROCESS',
        `permission denied reading ${dir}: run as the processes' user (each user has their own)`,
      );
    throw new HotpatchError('E_PROCESS', `cannot read ${dir}: ${(e as Error).message}`);
  }
  const pids: number[] = [];
  for (const name of names) {
    const m = /^(\d+)\.sock$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const path = `${dir}/${name}`;
    if (alive(pid) && (await listening(path))) pids.push(pid);
    else rmSync(path, { force: true });
  }
  return pids.sort((a, b) => a - b);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
