import { GLOBAL } from '@hotpatch/instrument';

/**
 * The modules' hotpatch state (convention.ts: `__hotpatch$.c`, `.l`, `.g`): cells keyed by module
 * instance and patch. A cell is created from its initializer (`l[key]`, installed by a `cell`
 * migration) the first time it is read, or at apply; a cell being created that reads itself is a
 * cycle the fixed code would not have had either, and throws.
 */
export interface CellStore {
  /** Values. */
  c: Record<string, unknown>;
  /** Initializers, by the same keys. */
  l: Record<string, () => unknown>;
  /** Reads a cell, creating it on first read. */
  g(key: string): unknown;
  /** Reads a shadow variable of one running scope (its accessor), creating it on first read. */
  sh(scope: unknown, key: string, init: () => unknown): unknown;
}

export function cellStore(): CellStore {
  const c: Record<string, unknown> = Object.create(null);
  const l: Record<string, () => unknown> = Object.create(null);
  const creating = new Set<string>();
  // Keyed by the scope's accessor function: the values go with the scope when it is collected.
  const shadows = new WeakMap<object, Map<string, unknown>>();
  return {
    c,
    l,
    sh(scope: unknown, key: string, init: () => unknown): unknown {
      if (typeof scope !== 'function')
        throw new ReferenceError(`hotpatch shadow ${key} has no running scope`);
      let values = shadows.get(scope);
      if (!values) shadows.set(scope, (values = new Map()));
      if (values.has(key)) return values.get(key);
      const value = init();
      values.set(key, value);
      return value;
    },
    g(key: string): unknown {
      if (key in c) return c[key];
      const init = l[key];
      if (!init) throw new ReferenceError(`hotpatch state ${key} has no initializer`);
      if (creating.has(key)) throw new ReferenceError(`hotpatch state ${key} is read while it is created`);
      creating.add(key);
      try {
        const value = init();
        c[key] = value;
        return value;
      } finally {
        creating.delete(key);
      }
    },
  };
}

/** Drops cells and their initializers (a patch's own, by key). */
export function dropCells(store: Pick<CellStore, 'c' | 'l'>, keys: string[]): void {
  for (const k of keys) {
    delete store.c[k];
    delete store.l[k];
  }
}

/** The process's cell store, installed on globalThis by the runtime's preload (convention.ts's GLOBAL). */
export function installedCells(): CellStore {
  return (globalThis as unknown as Record<string, CellStore>)[GLOBAL]!;
}
