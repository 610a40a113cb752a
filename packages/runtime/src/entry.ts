import { readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';

/**
 * Whether a main script may be an ES module as Node decides it: by extension, by the nearest
 * package.json's "type", and, for a .js file of no declared type, by its syntax (Node 20.19+
 * detects ES module syntax): import/export anywhere in its text counts. Unreadable: yes.
 */
export function entryMayBeModule(main: string): boolean {
  const file = resolve(main);
  const ext = extname(file);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts' || ext === '.json' || ext === '.node') return false;
  const type = packageType(dirname(file));
  if (type === 'module') return true;
  if (type === 'commonjs') return false;
  try {
    return /\b(import|export)\b/.test(readFileSync(file, 'utf8'));
  } catch {
    return true;
  }
}

/** The "type" of the nearest package.json above dir (Node's package scope), or null. */
function packageType(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const json = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { type?: unknown };
      return typeof json.type === 'string' ? json.type : null;
    } catch {
      // no package.json here (or unreadable): Node looks further up
    }
    if (dirname(d) === d) return null;
  }
}
