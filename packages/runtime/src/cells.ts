import { GLOBAL, PRIVATE_ACCESS } from '@hotpatch/instrument';

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
  /** A private field the fix adds, kept beside each instance (convention.ts PRIVATE_SHADOW). */
  pf(
    key: string,
    has: (o: unknown) => boolean,
    init: () => unknown,
    name: string,
    o: unknown,
    v?: unknown,
    w?: number,
  ): unknown;
}

export function cellStore(): CellStore {
  const c: Record<string, unknown> = Object.create(null);
  const l: Record<string, () => unknown> = Object.create(null);
  const creating = new Set<string>();
  // Keyed by the scope's accessor function: the values go with the scope when it is collected.
  const shadows = new WeakMap<object, Map<string, unknown>>();
  const fields = new WeakMap<object, Map<string, unknown>>();
  return {
    c,
    l,
    pf(key, has, init, name, o, v, w) {
      if (w === PRIVATE_ACCESS.has) return has(o);
      if (!has(o))
        throw new TypeError(
          `Cannot ${w === undefined || w === PRIVATE_ACCESS.read || w === PRIVATE_ACCESS.call || w === PRIVATE_ACCESS.optionalCall ? 'read' : 'write'} private member #${name} from an object whose class did not declare it`,
        );
      const target = o as object;
      let values = fields.get(target);
      if (!values) fields.set(target, (values = new Map()));
      if (!values.has(key)) values.set(key, init());
      return privateFieldAccess(values, key, o, v, w);
    },
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

/** One access (PRIVATE_ACCESS code `w`) to a shadow private field's value in `values`. */
function privateFieldAccess(
  values: Map<string, unknown>,
  key: string,
  o: unknown,
  v: unknown,
  w?: number,
): unknown {
  const P = PRIVATE_ACCESS;
  const cur = values.get(key);
  const set = (x: unknown) => {
    values.set(key, x);
    return x;
  };
  // As `++` does: a BigInt stays one, anything else becomes a number.
  const num = (x: unknown) => (typeof x === 'bigint' ? x : Number(x));
  const step = (x: unknown, d: 1 | -1) => {
    const n = num(x);
    return typeof n === 'bigint' ? n + BigInt(d) : n + d;
  };
  switch (w) {
    case undefined:
    case P.read:
      return cur;
    case P.assign:
      return set(v);
    case P.call:
      return (cur as (...a: unknown[]) => unknown).call(o, ...(v as unknown[]));
    case P.update:
      return set((v as (c: unknown) => unknown)(cur));
    case P.preIncrement:
      return set(step(cur, 1));
    case P.postIncrement:
      set(step(cur, 1));
      return num(cur);
    case P.preDecrement:
      return set(step(cur, -1));
    case P.postDecrement:
      set(step(cur, -1));
      return num(cur);
    case P.orAssign:
      return cur || set((v as () => unknown)());
    case P.andAssign:
      return cur && set((v as () => unknown)());
    case P.optionalCall:
      return (cur as ((...a: unknown[]) => unknown) | null | undefined)?.call(o, ...(v as unknown[]));
    case P.nullishAssign:
      return cur ?? set((v as () => unknown)());
    default:
      throw new TypeError(`unknown private access ${w}`);
  }
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
