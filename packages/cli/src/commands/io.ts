import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HotpatchError } from '@hotpatch/core';

/** Fails with exit 2 unless the directory that will hold `file` exists. */
export function checkOutputDir(file: string, option = '--out'): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new HotpatchError('E_IO', `${option} ${file}: directory ${dir} does not exist`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new HotpatchError('E_IO', `${option} ${file}: is a directory; give a file name`);
  }
}

/**
 * Writes a file atomically: FILE.tmp-<pid> first, then rename. A crash or an error never leaves
 * a partial FILE behind, and the temporary file is removed on failure.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new HotpatchError('E_IO', `cannot write ${file}: ${why}`);
  }
}

/** Reads a text file, or fails with a one-line error (exit 2). */
export function readTextFile(file: string, what: string, code: 'E_IO' | 'E_KEY' = 'E_IO'): string {
  try {
    return readFileSyncUtf8(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new HotpatchError(code, `cannot read ${what} ${file}: ${why}`);
  }
}

function readFileSyncUtf8(file: string): string {
  if (statSync(file).isDirectory()) {
    const err = new Error('is a directory') as NodeJS.ErrnoException;
    err.code = 'EISDIR';
    throw err;
  }
  return readFileSync(file, 'utf8');
}

/** Pads to a width for plain-text tables. */
export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Collects repeated option values: --advisory A --advisory B. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
