import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { HotpatchError } from '@hotpatch/core';
import { activeDir, ensurePrivateDir } from './paths.js';

/**
 * The active-patch store: one signed bundle per target under HOTPATCH_HOME/active/<service>, read
 * when a process of the service starts. Writes are durable and atomic (temporary file, fsync,
 * rename, fsync of the directory) and never leave a temporary file behind, even when the disk
 * is full: a store that cannot be written is an error the caller reports with nothing changed.
 */
export function storeFile(service: string, label: string): string {
  return join(activeDir(service), `${encodeURIComponent(label)}.hpatch`);
}

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (file size limit)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a directory',
  EIO: 'input/output error',
};

/** One-line reason for a file-system error: code and what it means. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code && WHY[code]) return `${code} (${WHY[code]})`;
  return code ?? (e as Error).message;
}

/**
 * A temporary name no other writer uses: the threads of one process (each runs its runtime) store
 * the same bundle at once, and with the pid alone one's rename took the other's file (ENOENT).
 */
function tempName(file: string): string {
  return join(
    dirname(file),
    `.${basename(file)}.${process.pid}.${threadId}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Writes `bytes` to `file` atomically and durably, or throws E_IO having left nothing behind. */
export function writeDurable(file: string, bytes: Uint8Array): void {
  const dir = dirname(file);
  const tmp = tempName(file);
  try {
    ensurePrivateDir(dir);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDir(dir);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new HotpatchError('E_IO', `cannot store the patch in ${dir}: ${fsReason(e)}`);
  }
}

// node:fs's callback functions as promises: fs/promises would be one more module in every start,
// and node:util's promisify one more module facade (on Node 26 its getters load ~7 modules).
type Done<T> = (e: NodeJS.ErrnoException | null, v?: T) => void;
const done =
  <T>(res: (v: T) => void, rej: (e: unknown) => void): Done<T> =>
  (e, v) =>
    e ? rej(e) : res(v as T);
const fsp = {
  open: (path: string, flags: string, mode?: number) =>
    new Promise<number>((res, rej) => fs.open(path, flags, mode, done(res, rej))),
  write: (fd: number, b: Uint8Array, off: number) =>
    new Promise<number>((res, rej) => fs.write(fd, b, off, b.length - off, null, done(res, rej))),
  fsync: (fd: number) => new Promise<void>((res, rej) => fs.fsync(fd, done(res, rej))),
  close: (fd: number) => new Promise<void>((res, rej) => fs.close(fd, done(res, rej))),
  rename: (from: string, to: string) => new Promise<void>((res, rej) => fs.rename(from, to, done(res, rej))),
};

/**
 * writeDurable without blocking the event loop: an apply stores its bundle before it changes
 * anything, and an fsync on a busy disk can take tens of milliseconds the service would stall.
 */
export async function writeDurableAsync(file: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(file);
  const tmp = tempName(file);
  try {
    ensurePrivateDir(dir);
    const fd = await fsp.open(tmp, 'w', 0o600);
    try {
      for (let off = 0; off < bytes.length; ) off += await fsp.write(fd, bytes, off);
      await fsp.fsync(fd);
    } finally {
      await fsp.close(fd);
    }
    await fsp.rename(tmp, file);
    const d = await fsp.open(dir, 'r');
    try {
      await fsp.fsync(d);
    } finally {
      await fsp.close(d);
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new HotpatchError('E_IO', `cannot store the patch in ${dir}: ${fsReason(e)}`);
  }
}

/** Removes a stored patch durably, or throws E_IO. */
export function removeDurable(file: string): void {
  try {
    rmSync(file, { force: true });
    if (existsSync(dirname(file))) syncDir(dirname(file));
  } catch (e) {
    throw new HotpatchError('E_IO', `cannot remove the stored patch ${file}: ${fsReason(e)}`);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Services used to be named after the last two parts of their main script's path. When a
 * service's store does not exist under its current name but does under that older one, it is
 * copied over, so a restarted service finds the patches it had.
 */
export function adoptLegacyStore(service: string, legacy: string | null): void {
  if (!legacy || legacy === service) return;
  const to = activeDir(service);
  const from = activeDir(legacy);
  if (existsSync(to) || !existsSync(from)) return;
  ensurePrivateDir(to);
  for (const name of readdirSync(from)) {
    if (name.endsWith('.hpatch')) copyFileSync(join(from, name), join(to, name));
  }
}
