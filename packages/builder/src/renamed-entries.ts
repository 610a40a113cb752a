import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Entry points the fixed release moved: a bundler change renames outputs (valibot 1.2.0 moved its
 * ES module build from dist/index.js to dist/index.mjs when it went from tsup to tsdown). The
 * running process loaded the old path, and the fix is in the new one: the old file is patched
 * with the new file's code, as if it had changed in place.
 *
 * Two files are paired when they stand at the same place in both package.json files (`main`,
 * `module`, or the same key path of `exports`), the old one is gone from the fixed release and
 * the new one was not in the running release. Returns running path → fixed path.
 */
export function renamedEntryFiles(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, string> {
  const out = new Map<string, string>();
  const a = manifest(fromDir);
  const b = manifest(toDir);
  if (!a || !b) return out;
  const pair = (x: unknown, y: unknown): void => {
    if (typeof x === 'string' && typeof y === 'string') {
      const pa = clean(x);
      const pb = clean(y);
      if (pa !== pb && filesA.has(pa) && !filesB.has(pa) && filesB.has(pb) && !filesA.has(pb) && !out.has(pa))
        out.set(pa, pb);
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      for (let i = 0; i < Math.min(x.length, y.length); i++) pair(x[i], y[i]);
      return;
    }
    if (isObject(x) && isObject(y)) for (const k of Object.keys(x)) if (k in y) pair(x[k], y[k]);
  };
  for (const field of ['main', 'module', 'exports']) pair(a[field], b[field]);
  return out;
}

function manifest(dir: string): Record<string, unknown> | null {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

const clean = (p: string) => p.replace(/^\.\//, '');
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
