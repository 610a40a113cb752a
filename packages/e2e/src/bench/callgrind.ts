/**
 * Instruction counts with valgrind's callgrind (cpu-instructions.ts): unlike CPU time, the count
 * of instructions a process executes does not depend on what else the machine runs.
 *
 * A process run with `callgrindArgs` writes a dump of the instructions counted since the previous
 * dump each time it calls `os.getPriority()` (libuv's uv_os_getpriority, which nothing else in
 * Node calls): a mark. Dump k holds what ran between mark k-1 and mark k, in every thread (V8's
 * compiler and GC threads included).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MARK_FUNCTION = 'uv_os_getpriority';

/** valgrind's arguments, before the program and its own arguments. */
export function callgrindArgs(outDir: string): string[] {
  return [
    '--tool=callgrind',
    `--dump-before=${MARK_FUNCTION}`,
    '--dump-line=no',
    `--callgrind-out-file=${join(outDir, 'cg.%p')}`,
    `--log-file=${join(outDir, 'valgrind.%p.log')}`,
  ];
}

/** The instruction totals of a process's dumps, in mark order (dump 1 first). */
export function markTotals(outDir: string, pid: number): number[] {
  const prefix = `cg.${pid}.`;
  const parts = readdirSync(outDir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => Number(f.slice(prefix.length)))
    .filter((k) => Number.isInteger(k))
    .sort((a, b) => a - b);
  return parts.map((k) => {
    const text = readFileSync(join(outDir, `${prefix}${k}`), 'utf8');
    const m = /^(?:totals|summary): (\d+)/m.exec(text);
    if (!m) throw new Error(`no totals in ${prefix}${k}`);
    return Number(m[1]);
  });
}

/** All the instructions a process ran: its dumps at marks and the last one, written as it exits. */
export function processTotal(outDir: string, pid: number): number {
  const last = readFileSync(join(outDir, `cg.${pid}`), 'utf8');
  const m = /^(?:totals|summary): (\d+)/m.exec(last);
  if (!m) throw new Error(`no totals in cg.${pid}`);
  return markTotals(outDir, pid).reduce((a, b) => a + b, Number(m[1]));
}

/** Whether valgrind can run here (the instructions measures need it). */
export function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Window {
  /** Units of work (requests, calls) done in the window. */
  n: number;
  instructions: number;
}

/**
 * Instructions per unit from pairs of windows of different sizes: (I2 - I1) / (n2 - n1), so that
 * what every window pays once (the marks, the client's connection) cancels out. Windows are taken
 * in consecutive pairs.
 */
export function pairSlopes(windows: Window[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < windows.length; i += 2) {
    const [a, b] = [windows[i]!, windows[i + 1]!];
    if (a.n === b.n) throw new Error('a pair of windows needs two sizes');
    out.push((b.instructions - a.instructions) / (b.n - a.n));
  }
  return out;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
