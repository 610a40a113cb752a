/**
 * Migrations for the redirect engine: each is computed at prepare in the module's scope (with its
 * run-once wrapper's accessor when it has one) and becomes a step that commit runs; a step makes
 * its change and returns how to take it back (and to make it again, for a rollback of a revert).
 */
import type { Migration } from '@hotpatch/core';
import { ACCESS, cellKey, type ModuleTable, SCOPE_PARAM } from '@hotpatch/instrument';
import { installedCells } from '../cells.js';
import { withNamespace } from './source.js';
import type { FileWork } from './types.js';

/** A change a migration made to module state, and how to take it back (and to make it again). */
export interface Effect {
  undo(): void;
  redo(): void;
}

/** What a committed patch changed in a module besides its slots. */
export interface Committed {
  effects: Effect[];
  /** The keys of the cells it set up (module-level, imports, and shared ones it exports). */
  cells: string[];
}

/** A migration computed at prepare; `apply` makes its change at commit and says how to undo it. */
export type Step = () => Effect;

/** One migration being compiled in its module. */
interface Compiling {
  w: FileWork;
  m: Migration;
  /** Cells created so far (dropped if the prepare fails). */
  made: string[];
  /** The module has run: a cell is created at commit (one that throws refuses the patch). */
  now: boolean;
  /** The run-once wrapper's accessor (undefined for module-level code). */
  scope(): unknown;
  /** Code compiled in the module, taking the scope accessor. */
  compile(code: string): (s: unknown) => unknown;
  /** Code run in the module now. */
  run(code: string): unknown;
}

type Build = (c: Compiling) => Step | null;

/**
 * Computes a migration in the module's scope. Cells are created now (their keys are this patch's
 * own); property changes and author scripts become steps for commit. A string says why not.
 */
export function compileMigration(
  w: FileWork,
  table: ModuleTable,
  m: Migration,
  made: string[],
  now: boolean,
): Step | string | null {
  const { record } = w;
  // A run-once wrapper's accessor, looked up when needed (a cell of a module loading now is
  // created after its wrapper has run).
  const scope = (): unknown => {
    if (m.scope === undefined) return undefined;
    const accessor = record.scopes?.get(table.functions.findIndex((f) => f.key === m.scope));
    // A wrapper a bundler runs on first require may not have run yet: its state does not exist,
    // and the patch cannot set it up. Refused with nothing changed; it applies once the code has run.
    if (typeof accessor !== 'function')
      throw new Error(
        `${m.scope} has not run in this module yet (code that runs once, on first use); apply again once it has`,
      );
    return accessor;
  };
  const compile = (code: string) =>
    record.gate!(
      `(function (${SCOPE_PARAM}) { return (${withNamespace(code, w.namespace, w.packageNamespace)}); })`,
    ) as (s: unknown) => unknown;
  const run = (code: string): unknown => compile(code)(scope());
  try {
    return BUILDERS[m.kind]?.({ w, m, made, now, scope, compile, run }) ?? null;
  } catch (e) {
    return `${m.kind} migration ${m.key ?? m.target ?? ''} failed: ${(e as Error).message}`;
  }
}

const cell: Build = ({ w, m, made, now, scope, compile }) => {
  const key = withNamespace(cellKey(m.key!, m.shared), w.namespace, w.packageNamespace);
  const init = compile(m.source);
  installedCells().l[key] = () => init(scope());
  made.push(key);
  // Created at commit where the module has run, so that one that throws refuses the patch.
  if (!now) return null;
  return () => {
    installedCells().g(key);
    return { undo: () => {}, redo: () => {} };
  };
};

const rerun: Build = ({ m, scope, compile }) => {
  const statements = compile(`(() => { ${m.source}\n})()`);
  // Objects the statements fill in place (registration tables): saved, put back on revert.
  const tables = (m.snapshot ?? []).map((name) =>
    compile(m.scope === undefined ? name : `${SCOPE_PARAM}(${JSON.stringify(name)})`),
  );
  return () => {
    const saved = tables.map((t) => snapshotOf(t(scope())));
    const run = () => statements(scope());
    run();
    // Without tables it only filled this patch's own cells (dropped on revert).
    return { undo: () => saved.forEach(restore), redo: run };
  };
};

/** assign and define. */
const property: Build = ({ m, scope, compile }) => {
  const compiled = { object: compile(m.target!), key: compile(m.key!), value: compile(m.source) };
  return () => {
    const { object, key } = target(m, compiled, scope());
    const value = compiled.value(scope());
    const before = Object.getOwnPropertyDescriptor(object, key);
    const set = () => {
      if (m.kind === 'define') Object.defineProperty(object, key, value as PropertyDescriptor);
      else (object as Record<PropertyKey, unknown>)[key] = value;
    };
    set();
    // Sloppy-mode code ignores a write to a frozen object or a read-only property: an
    // assignment that did not take refuses the patch rather than report it applied.
    if (m.kind === 'assign' && !before?.get && !before?.set && !Object.is(Reflect.get(object, key), value)) {
      setDescriptor(object, key, before);
      throw new Error(`${String(key)} could not be set (read-only or frozen)`);
    }
    return { undo: () => setDescriptor(object, key, before), redo: set };
  };
};

const removal: Build = ({ m, scope, compile }) => {
  const compiled = { object: compile(m.target!), key: compile(m.key!) };
  return () => {
    const { object, key } = target(m, compiled, scope());
    const before = Object.getOwnPropertyDescriptor(object, key);
    const remove = () => {
      if (!Reflect.deleteProperty(object, key))
        throw new Error(`${String(key)} could not be removed (non-configurable or frozen)`);
    };
    remove();
    return { undo: () => setDescriptor(object, key, before), redo: remove };
  };
};

const resetVariable: Build = ({ w, m, scope, compile, run }) => {
  // Through the wrapper's accessor for its variables, else the module's own binding.
  const name = m.target!;
  const get = compile(m.scope === undefined ? name : `${SCOPE_PARAM}(${JSON.stringify(name)})`);
  const setter = w.record.gate!(
    m.scope === undefined
      ? `(function (${SCOPE_PARAM}, v) { ${name} = v; })`
      : `(function (${SCOPE_PARAM}, v) { ${SCOPE_PARAM}(${JSON.stringify(name)}, v, ${ACCESS.assign}); })`,
  ) as (s: unknown, v: unknown) => void;
  const initial = run(m.source);
  return () => {
    const before = get(scope());
    const reset = () => setter(scope(), initial);
    reset();
    return { undo: () => setter(scope(), before), redo: reset };
  };
};

/**
 * A changed regular expression, recompiled in place on the running object: every holder sees
 * the new pattern. Checked at prepare (the running object is the baseline's, the new pattern
 * compiles here) and verified after; `lastIndex` is kept (a global regex mid-iteration goes on).
 */
const recompile: Build = ({ m, scope, compile, run }) => {
  const name = m.target!;
  const get = compile(m.scope === undefined ? name : `${SCOPE_PARAM}(${JSON.stringify(name)})`);
  const baseline = run(m.revert!) as RegExp;
  const fixed = run(m.source) as RegExp;
  const running = get(scope());
  if (!isBaselineRegex(running, baseline))
    throw new Error(`${name} is not the regular expression the baseline created (changed since load)`);
  const compileTo = (to: RegExp) => {
    const lastIndex = running.lastIndex;
    running.compile(to.source, to.flags);
    running.lastIndex = lastIndex;
    if (running.source !== to.source || running.flags !== to.flags)
      throw new Error(`${name} did not take the new pattern`);
  };
  return () => {
    compileTo(fixed);
    return { undo: () => compileTo(baseline), redo: () => compileTo(fixed) };
  };
};

function isBaselineRegex(value: unknown, baseline: RegExp): value is RegExp {
  return (
    value instanceof RegExp &&
    Object.getPrototypeOf(value) === RegExp.prototype &&
    value.source === baseline.source &&
    value.flags === baseline.flags
  );
}

const script: Build = ({ m, run }) => {
  const source = () => run(`(() => { ${m.source}\n})()`);
  const revert = () => {
    if (m.revert) run(`(() => { ${m.revert}\n})()`);
  };
  return () => {
    source();
    return { undo: revert, redo: source };
  };
};

/** Imports are loaded by prepareAsync (or statically at load), not here. */
const BUILDERS: Partial<Record<Migration['kind'], Build>> = {
  cell,
  rerun,
  assign: property,
  define: property,
  delete: removal,
  reset: resetVariable,
  recompile,
  script,
};

/** Full keys of the cells a file patch sets up in this module instance. */
export function cellKeysOf(w: FileWork): string[] {
  return w.file.migrations
    .filter((m) => m.kind === 'cell' || m.kind === 'import')
    .map((m) => withNamespace(cellKey(m.key!, m.shared), w.namespace, w.packageNamespace));
}

/** The object and key an assign or define migration changes, evaluated in the module. */
function target(
  m: Migration,
  compiled: { object: (s: unknown) => unknown; key: (s: unknown) => unknown },
  scope: unknown,
): { object: object; key: PropertyKey } {
  const object = compiled.object(scope);
  if ((typeof object !== 'object' && typeof object !== 'function') || object === null)
    throw new Error(`${m.target} is not an object`);
  return { object, key: compiled.key(scope) as PropertyKey };
}

interface Snapshot {
  object: object;
  own: Map<PropertyKey, PropertyDescriptor>;
}

/** An object's own properties as they are now (a registration table before it is filled again). */
function snapshotOf(object: unknown): Snapshot {
  if ((typeof object !== 'object' && typeof object !== 'function') || object === null)
    throw new Error('a table to fill again is not an object');
  const own = new Map<PropertyKey, PropertyDescriptor>();
  for (const k of Reflect.ownKeys(object)) own.set(k, Object.getOwnPropertyDescriptor(object, k)!);
  return { object, own };
}

/** Puts a table back as its snapshot had it: added keys removed, changed ones restored. */
function restore({ object, own }: Snapshot): void {
  for (const k of Reflect.ownKeys(object))
    if (!own.has(k)) delete (object as Record<PropertyKey, unknown>)[k];
  for (const [k, d] of own) Object.defineProperty(object, k, d);
}

function setDescriptor(object: object, key: PropertyKey, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor) Object.defineProperty(object, key, descriptor);
  else delete (object as Record<PropertyKey, unknown>)[key];
}
