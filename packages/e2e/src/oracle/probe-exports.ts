import type { TargetShape } from './inputs.js';

/** What an entry of a package exports, as the oracle's planner sees it (probe.ts reports it). */

const isClass = (f: (...a: unknown[]) => unknown): boolean => {
  let src = '';
  try {
    src = Function.prototype.toString.call(f);
  } catch {}
  if (src.startsWith('class')) return true;
  const proto = (f as { prototype?: object }).prototype;
  return (
    /^[A-Z]/.test(f.name) &&
    proto !== undefined &&
    proto !== null &&
    Object.getOwnPropertyNames(proto).some((n) => n !== 'constructor')
  );
};

function methodsOf(f: { prototype?: object }): { name: string; length: number }[] {
  const proto = f.prototype;
  if (!proto) return [];
  const out: { name: string; length: number }[] = [];
  for (const name of Object.getOwnPropertyNames(proto).sort()) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d && typeof d.value === 'function') out.push({ name, length: d.value.length });
  }
  return out.slice(0, 40);
}

/**
 * An own enumerable property as an importer sees it. Data properties as they are; getters too,
 * since compiled CommonJS re-exports are getters (tsc's `Object.defineProperty(exports, 'parse',
 * { enumerable: true, get })`, Babel's and esbuild's alike); a getter that throws is no export.
 */
export function exported(o: object, k: string): { ok: boolean; value?: unknown } {
  const d = Object.getOwnPropertyDescriptor(o, k);
  if (!d || !d.enumerable) return { ok: false };
  if ('value' in d) return { ok: true, value: d.value };
  try {
    return { ok: true, value: d.get?.call(o) };
  } catch {
    return { ok: false };
  }
}

/** Functions and classes reachable from an entry's root through data properties, two levels deep. */
export function walkExports(root: unknown): TargetShape[] {
  const out: TargetShape[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string[]) => {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
    seen.add(v);
    if (typeof v === 'function') {
      const f = v as (...a: unknown[]) => unknown;
      const cls = isClass(f);
      out.push({
        path,
        kind: cls ? 'class' : 'function',
        length: f.length,
        ...(cls ? { methods: methodsOf(f as { prototype?: object }) } : {}),
      });
    }
    if (path.length >= 2 || Array.isArray(v)) return;
    let keys: string[] = [];
    try {
      keys = Object.keys(v).sort();
    } catch {}
    for (const k of keys.slice(0, 400)) {
      if (k === 'prototype') continue;
      const x = exported(v, k);
      if (x.ok) visit(x.value, [...path, k]);
    }
  };
  visit(root, []);
  return out;
}
