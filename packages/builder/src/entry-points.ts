import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveFrom, resolveRelative } from './diff/paths.js';
import { isCode } from './files.js';

/** Which files of a package Node loads: its entry points, and what they reach through relative specifiers. */

/** Export conditions Node resolves by default (others — browser, umd, types, deno, … — are for other tools). */
const NODE_CONDITIONS = new Set(['node', 'import', 'require', 'default', 'module-sync', 'node-addons']);

/** Files package.json points Node at (main, and exports under the conditions Node uses). */
export function entryFiles(dir: string): Set<string> {
  const out = new Set<string>();
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      main?: string;
      exports?: unknown;
    };
    const add = (p: unknown) => {
      if (typeof p === 'string') out.add(p.replace(/^\.\//, ''));
      else if (Array.isArray(p)) for (const v of p) add(v);
      else if (p && typeof p === 'object')
        for (const [k, v] of Object.entries(p)) if (k.startsWith('.') || NODE_CONDITIONS.has(k)) add(v);
    };
    add(pkg.main ?? 'index.js');
    add(pkg.exports);
  } catch {
    out.add('index.js');
  }
  return out;
}

/** Files reachable from the entry points through relative require()/import specifiers. */
export function reachableFiles(dir: string, entries: Set<string>, files: Set<string>): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries].map((e) => resolveRelative(e, files)).filter((f): f is string => f !== null);
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const target of importsOf(dir, file, files)) if (!seen.has(target)) queue.push(target);
  }
  return seen;
}

/** The files `file` names in relative require()/import specifiers (none if it cannot be read). */
function importsOf(dir: string, file: string, files: Set<string>): Set<string> {
  const out = new Set<string>();
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch {
    return out;
  }
  for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
    const target = resolveFrom(file, m[1]!, files);
    if (target) out.add(target);
  }
  return out;
}

const RELATIVE_SPECIFIER = /(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]*)['"]/g;

/** Whether a file names one of `targets` in a relative require()/import specifier. */
export function importsAny(file: string, text: string, targets: Set<string>, files: Set<string>): boolean {
  if (targets.size === 0 || !isCode(file)) return false;
  for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
    const target = resolveFrom(file, m[1]!, files);
    if (target && target !== file && targets.has(target)) return true;
  }
  return false;
}

/** Each code file's relative require()/import targets among `files` (what it may load). */
export function relativeImports(dir: string, files: Set<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of files) {
    if (!isCode(file)) continue;
    const targets = importsOf(dir, file, files);
    targets.delete(file);
    out.set(file, [...targets]);
  }
  return out;
}
