/**
 * The oracle process's guards (probe.ts): while a plan runs, file-system writes outside the scratch
 * directory and the runtime's home, child processes, process.exit/kill/chdir and name resolution
 * of other hosts are refused with an error that is the same in every process.
 */
import { createRequire } from 'node:module';
import { resolve, sep } from 'node:path';

const requireHere = createRequire(import.meta.url);
// The CommonJS module objects (ES namespaces are frozen): what packages call, by require or import.
const fs = requireHere('node:fs') as typeof import('node:fs');
const childProcess = requireHere('node:child_process') as typeof import('node:child_process');
const dns = requireHere('node:dns') as typeof import('node:dns');
const net = requireHere('node:net') as typeof import('node:net');
const allowedRoots = [process.cwd(), process.env.HOTPATCH_HOME ?? ''].filter(Boolean).map((d) => resolve(d));
let isActive: () => boolean = () => false;

function blocked(what: string): Error {
  return Object.assign(new Error(`oracle: ${what} is blocked`), { code: 'EORACLE' });
}

function pathOf(p: unknown): string | undefined {
  if (typeof p === 'string') return resolve(p);
  if (p instanceof URL && p.protocol === 'file:') return resolve(decodeURIComponent(p.pathname));
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  return undefined;
}

const inside = (p: string) => allowedRoots.some((r) => p === r || p.startsWith(r + sep));

const FS_WRITES = [
  'writeFile',
  'appendFile',
  'unlink',
  'rm',
  'rmdir',
  'mkdir',
  'rename',
  'copyFile',
  'cp',
  'symlink',
  'link',
  'truncate',
  'chmod',
  'chown',
  'utimes',
  'mkdtemp',
  'createWriteStream',
  'lchown',
  'lutimes',
];

/** Wraps `obj[name]` so that, while a plan runs, it refuses paths outside the allowed roots. */
function guardPaths(obj: Record<string, unknown>, name: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    if (isActive())
      for (const a of args.slice(0, 2)) {
        const p = pathOf(a);
        if (p !== undefined && !inside(p)) throw blocked(`fs.${name} outside the scratch directory`);
      }
    return (orig as (...x: unknown[]) => unknown).apply(this, args);
  };
}

function guardAlways(obj: Record<string, unknown>, name: string, what: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    if (isActive()) throw blocked(what);
    return (orig as (...x: unknown[]) => unknown).apply(this, args);
  };
}

/**
 * Name resolution during a plan: only localhost and address literals resolve; any other name fails
 * at once with ENOTFOUND, as when offline. Without it a generated call to a real API host
 * (`@octokit/request` defaults to api.github.com) settles within the wait or not depending on the
 * resolver's speed, and the same call would look different in two processes.
 */
function guardLookup(): void {
  const local = (host: unknown) => typeof host !== 'string' || host === 'localhost' || net.isIP(host) !== 0;
  const notFound = (host: unknown) =>
    Object.assign(new Error(`getaddrinfo ENOTFOUND ${String(host)}`), {
      code: 'ENOTFOUND',
      errno: -3008,
      syscall: 'getaddrinfo',
      hostname: host,
    });
  const real = dns.lookup;
  (dns as { lookup: unknown }).lookup = function (this: unknown, host: unknown, ...rest: unknown[]) {
    if (!isActive() || local(host)) return (real as (...a: unknown[]) => unknown).call(this, host, ...rest);
    const cb = rest.find((x) => typeof x === 'function') as ((e: Error) => void) | undefined;
    if (cb) process.nextTick(cb, notFound(host));
  };
  const realP = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = (host: unknown, ...rest: unknown[]) =>
    !isActive() || local(host)
      ? (realP as (...a: unknown[]) => Promise<unknown>)(host, ...rest)
      : Promise.reject(notFound(host));
}

/** Installs the guards; they refuse only while `active()` says a plan runs. */
export function installGuards(active: () => boolean): void {
  isActive = active;
  const f = fs as unknown as Record<string, unknown>;
  const fp = fs.promises as unknown as Record<string, unknown>;
  for (const n of FS_WRITES) {
    guardPaths(f, n);
    guardPaths(f, `${n}Sync`);
    guardPaths(fp, n);
  }
  const cp = childProcess as unknown as Record<string, unknown>;
  for (const n of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'])
    guardAlways(cp, n, `child_process.${n}`);
  guardLookup();
  const p = process as unknown as Record<string, unknown>;
  for (const n of ['exit', 'abort', 'kill', 'chdir', 'setuid', 'setgid']) guardAlways(p, n, `process.${n}`);
}
