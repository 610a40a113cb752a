import { posix } from 'node:path';

/** A set of package paths, or a map keyed by them. */
export interface PathSet {
  has(path: string): boolean;
}

/** The package file a path names as Node resolves it (exact, .js, .cjs, .mjs, /index.js), if there is one. */
export function resolveRelative(path: string, files: PathSet): string | null {
  const p = posix.normalize(path).replace(/^\.\//, '');
  for (const c of [p, `${p}.js`, `${p}.cjs`, `${p}.mjs`, `${p}/index.js`]) if (files.has(c)) return c;
  return null;
}

/** The package file a relative specifier (`./x`, `../y`) of `from` names; null for a bare one. */
export function resolveFrom(from: string, spec: string, files: PathSet): string | null {
  return spec.startsWith('.') ? resolveRelative(posix.join(posix.dirname(from), spec), files) : null;
}
