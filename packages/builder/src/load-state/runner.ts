import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './graph.js';

/**
 * Loads one file of a release in a fresh child `node` (load-state/child.ts) and returns the state
 * it built. Bounded: a time limit, a heap limit, a limit on the objects walked. Under Node's
 * permission model where the inspector may still be used there (`--allow-inspector`, Node 26):
 * the child may read the release and nothing else (no file writes, child processes, workers,
 * addons, network). Older Node refuses the inspector under that model; the child then runs without
 * it, and the effects it can log (timers, output, file writes, sockets, child processes) are
 * compared instead.
 */
export interface LoadOptions {
  /** Absolute path of the file to load. */
  file: string;
  /** The release's directory, written `<pkg>` in every string of the state. */
  dir: string;
  /** Its first ancestor that differs between the two releases, written `<up>`. */
  above: string;
  /** Directories the child may read (the release). */
  readable: string[];
  sourceType: 'commonjs' | 'module';
  timeoutMs?: number;
  maxNodes?: number;
  heapMb?: number;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.js');

/** Whether this Node lets a process use the inspector under the permission model. */
export function permissionWithInspector(): boolean {
  return process.allowedNodeEnvironmentFlags.has('--allow-inspector');
}

export function loadState(opts: LoadOptions): LoadResult {
  const permission = permissionWithInspector();
  const flags = [`--max-old-space-size=${opts.heapMb ?? 1024}`];
  if (permission)
    flags.push(
      '--permission',
      '--allow-inspector',
      ...[...opts.readable, dirname(CHILD)].map((d) => `--allow-fs-read=${d}`),
    );
  const maxNodes = opts.maxNodes ?? 300000;
  const timeout = opts.timeoutMs ?? 60000;
  const run = spawnSync(
    process.execPath,
    [...flags, CHILD, opts.file, opts.dir, opts.above, opts.sourceType, String(maxNodes)],
    {
      cwd: dirname(opts.file),
      encoding: 'utf8',
      timeout,
      maxBuffer: 1 << 30,
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return { ok: false, reason: `loading it took longer than ${timeout / 1000} s` };
  if (run.error) return { ok: false, reason: `the child process failed: ${run.error.message}` };
  try {
    const result = JSON.parse(run.stdout) as LoadResult;
    return result.ok ? { ...result, permission } : result;
  } catch {
    const why = run.signal
      ? `it was stopped by ${run.signal}`
      : `it exited with ${run.status}: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
    return { ok: false, reason: `the load did not finish (${why.slice(0, 300)})` };
  }
}
