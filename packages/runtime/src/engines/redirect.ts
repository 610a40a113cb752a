import type { FunctionPatch, Migration } from '@hotpatch/core';
import { ACCESS, cellKey, GLOBAL, type ModuleTable, SCOPE_PARAM } from '@hotpatch/instrument';
import { type CellStore, dropCells } from '../cells.js';
import { heavy } from '../lazy.js';
import { checkedReplacements } from '../off-thread.js';
import { withNamespace } from './source.js';
import { tableAsync, tableOf } from './table.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult, Refusal } from './types.js';

const store = (): CellStore => (globalThis as unknown as Record<string, CellStore>)[GLOBAL]!;
const cells = () => store().c;

/** A change a migration made to module state, and how to take it back (and to make it again). */
interface Effect {
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
type Step = () => Effect;

/**
 * The redirect engine: modules were instrumented when they loaded (packages/instrument), so a
 * patch is a set of replacement functions compiled through the module's own gate and put in its
 * slots, and migrations run in the module's scope. Works on every Node version.
 *
 * Before anything changes, every replacement is checked against the running module's calling
 * convention (check.ts: the guard passes what it takes, every name it needs resolves there),
 * compiled, and every migration's value computed; commit then only swaps slots and properties,
 * synchronously, so no call can observe a half-applied patch; if a step fails, everything it
 * changed is put back.
 */
export class RedirectEngine implements Engine {
  readonly name = 'redirect' as const;

  prepare(work: FileWork[]): PrepareResult {
    return this.#prepare(work, 'apply');
  }

  /** At apply: ES module imports the patch adds are loaded first (asynchronously). */
  async prepareAsync(work: FileWork[]): Promise<PrepareResult> {
    const loaded: string[] = [];
    const drop = () => {
      for (const k of loaded) delete cells()[k];
    };
    for (const w of work) {
      for (const m of w.file.migrations) {
        if (m.kind !== 'import') continue;
        if (!w.record.gate) return notInstrumented(w.record);
        const key = withNamespace(cellKey(m.key!, m.shared), w.namespace, w.packageNamespace);
        try {
          cells()[key] = await (w.record.gate(`import(${JSON.stringify(m.source)})`) as Promise<unknown>);
          loaded.push(key);
        } catch (e) {
          drop();
          return refusal(`${w.file.path}: cannot import ${m.source}: ${(e as Error).message}`);
        }
      }
    }
    // The replacements are checked off this thread (a parse and a scope analysis each), then
    // each is compiled in its module on its own turn, so that a patch of many functions does not
    // stall the service; the commit that swaps the slots stays one step.
    const items: Array<{ w: FileWork; table: ModuleTable; fp: FunctionPatch }> = [];
    for (const w of work) {
      if (!w.record.holder || !w.record.gate) continue; // #prepare refuses it
      const table = await tableAsync(w.record);
      for (const fp of w.file.functions) items.push({ w, table, fp });
    }
    const problems = await checkedReplacements(items.map(({ table, fp }) => ({ table, fp })));
    const precompiled: Precompiled = new Map();
    for (const [i, { w, fp }] of items.entries()) {
      await new Promise((r) => setImmediate(r));
      const problem = problems[i];
      const byFunction = precompiled.get(w) ?? new Map<FunctionPatch, Compiled>();
      byFunction.set(fp, problem ? `${w.file.path}: ${problem}` : compileChecked(w, fp));
      precompiled.set(w, byFunction);
    }
    const prepared = this.#prepare(work, 'apply', precompiled);
    if (!prepared.ok) drop();
    return prepared;
  }

  /**
   * A module loading with a patch already active: at its first line when the patch has only
   * replacements and cells (slots filled before its first call), else once its own code has run.
   */
  prepareAtLoad(w: FileWork, phase: 'load' | 'ready'): PrepareResult {
    return this.#prepare([w], phase);
  }

  #prepare(work: FileWork[], phase: 'apply' | 'load' | 'ready', precompiled?: Precompiled): PrepareResult {
    const plans: Array<{ w: FileWork; fills: Map<number, unknown>; steps: Step[] }> = [];
    const made: string[] = [];
    const fail = (r: Refusal) => {
      dropCells(store(), made);
      return r;
    };
    for (const w of work) {
      const { record, file } = w;
      if (!record.holder || !record.gate) return fail(notInstrumented(record));
      const table = tableOf(record);
      const fills = new Map<number, unknown>();
      for (const fp of file.functions) {
        const c = precompiled?.get(w)?.get(fp) ?? compileReplacement(w, table, fp);
        if (typeof c === 'string') return fail(refusal(c));
        const compiled = c.fn;
        fills.set(
          table.functions.findIndex((f) => f.key === fp.key),
          compiled,
        );
      }
      // Migrations are compiled now and run at commit, in the fixed code's order (a value a
      // statement computes can depend on one before it); anything that throws is undone.
      const steps: Step[] = [];
      for (const m of file.migrations) {
        if (m.kind === 'import') continue; // prepareAsync, or static imports at load
        if (phase === 'load' && m.kind !== 'cell') continue; // when the module's own code has run
        const result = this.#migration(w, table, m, made, phase !== 'load');
        if (typeof result === 'string') return fail(refusal(`${file.path}: ${result}`));
        if (result) steps.push(result);
      }
      plans.push({ w, fills, steps });
    }
    // What commit did, newest last, to put back if a later step fails (rollback).
    const journal: Array<() => void> = [];
    const rollback = () => {
      for (const back of journal.reverse()) back();
      journal.length = 0;
      dropCells(store(), made);
    };
    return {
      ok: true,
      commit: () => {
        // Every file's slots first, then the migrations: a value a migration computes at apply
        // (a cell `X = make()`, a statement run again) calls the fixed code, in this file or
        // another, not the running one. Nothing runs between the two but this commit.
        const effectsOf = new Map<FileWork, Effect[]>();
        for (const { w, fills } of plans) {
          const { record } = w;
          const before = {
            holder: [...record.holder!],
            filled: record.filled,
            compiled: record.compiled,
            committed: record.committed,
          };
          journal.push(() => {
            before.holder.forEach((v, i) => {
              record.holder![i] = v;
            });
            record.filled = before.filled;
            record.compiled = before.compiled;
            record.committed = before.committed;
          });
          // A cumulative patch first takes the one it replaces back to the baseline.
          try {
            for (const e of [...(before.committed?.effects ?? [])].reverse()) {
              e.undo();
              journal.push(() => e.redo());
            }
          } catch (e) {
            rollback();
            return refusal(
              `${w.file.path}: the replaced patch could not be taken back: ${(e as Error).message}`,
            );
          }
          record.holder!.fill(undefined);
          for (const [i, fn] of fills) record.holder![i] = fn;
          record.filled = [...fills.keys()];
          record.compiled = fills;
          effectsOf.set(w, []);
        }
        for (const { w, steps } of plans) {
          const effects = effectsOf.get(w)!;
          try {
            for (const step of steps) {
              const e = step();
              effects.push(e);
              journal.push(() => e.undo());
            }
          } catch (e) {
            rollback();
            return refusal(`${w.file.path}: a migration failed: ${(e as Error).message}`);
          }
          w.record.committed = { effects, cells: cellKeysOf(w) };
        }
        return null;
      },
      rollback,
    };
  }

  /**
   * Computes a migration in the module's scope (with its run-once wrapper's accessor when it has
   * one). Cells are created now (their keys are this patch's own); property changes and author
   * scripts become steps for commit.
   */
  #migration(
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
      if (typeof accessor !== 'function') throw new Error(`${m.scope} has not run in this module`);
      return accessor;
    };
    const compile = (code: string) =>
      record.gate!(
        `(function (${SCOPE_PARAM}) { return (${withNamespace(code, w.namespace, w.packageNamespace)}); })`,
      ) as (s: unknown) => unknown;
    const run = (code: string): unknown => compile(code)(scope());
    try {
      if (m.kind === 'cell') {
        const key = withNamespace(cellKey(m.key!, m.shared), w.namespace, w.packageNamespace);
        const init = compile(m.source);
        store().l[key] = () => init(scope());
        made.push(key);
        // Created at commit where the module has run, so that one that throws refuses the patch.
        if (now)
          return () => {
            store().g(key);
            return { undo: () => {}, redo: () => {} };
          };
        return null;
      }
      if (m.kind === 'rerun') {
        const statements = compile(`(() => { ${m.source}\n})()`);
        // Objects the statements fill in place (registration tables): saved, put back on revert.
        const tables = (m.snapshot ?? []).map((name) => compile(name));
        return () => {
          const saved = tables.map((t) => snapshotOf(t(scope())));
          const run = () => statements(scope());
          run();
          // Without tables it only filled this patch's own cells (dropped on revert).
          return { undo: () => saved.forEach(restore), redo: run };
        };
      }
      if (m.kind === 'assign' || m.kind === 'define') {
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
          if (
            m.kind === 'assign' &&
            !before?.get &&
            !before?.set &&
            !Object.is(Reflect.get(object as object, key), value)
          ) {
            setDescriptor(object, key, before);
            throw new Error(`${String(key)} could not be set (read-only or frozen)`);
          }
          return { undo: () => setDescriptor(object, key, before), redo: set };
        };
      }
      if (m.kind === 'delete') {
        const compiled = { object: compile(m.target!), key: compile(m.key!) };
        return () => {
          const { object, key } = target(m, compiled, scope());
          const before = Object.getOwnPropertyDescriptor(object, key);
          const remove = () => {
            if (!Reflect.deleteProperty(object as object, key))
              throw new Error(`${String(key)} could not be removed (non-configurable or frozen)`);
          };
          remove();
          return { undo: () => setDescriptor(object, key, before), redo: remove };
        };
      }
      if (m.kind === 'reset') {
        // Through the wrapper's accessor for its variables, else the module's own binding.
        const name = m.target!;
        const get = compile(m.scope === undefined ? name : `${SCOPE_PARAM}(${JSON.stringify(name)})`);
        const setter = record.gate!(
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
      }
      if (m.kind === 'script') {
        const source = () => run(`(() => { ${m.source}\n})()`);
        const revert = () => {
          if (m.revert) run(`(() => { ${m.revert}\n})()`);
        };
        return () => {
          source();
          return { undo: revert, redo: source };
        };
      }
    } catch (e) {
      return `${m.kind} migration ${m.key ?? m.target ?? ''} failed: ${(e as Error).message}`;
    }
    return null;
  }

  /**
   * Reverting is a commit too: slots emptied, migrations' effects taken back, cells dropped — all
   * records or none (rollback makes the effects again and puts the slots back).
   */
  prepareRevert(records: ModuleRecord[]): PrepareResult {
    for (const record of records) if (!record.holder) return notInstrumented(record);
    const journal: Array<() => void> = [];
    const rollback = () => {
      for (const back of journal.reverse()) back();
      journal.length = 0;
    };
    return {
      ok: true,
      commit: () => {
        const dropped: string[] = [];
        for (const record of records) {
          const before = {
            holder: [...record.holder!],
            filled: record.filled,
            compiled: record.compiled,
            committed: record.committed,
          };
          if (before.committed) dropped.push(...before.committed.cells);
          // Slots first: from here no call reaches the patch's code or state.
          record.holder!.fill(undefined);
          journal.push(() => {
            before.holder.forEach((v, i) => {
              record.holder![i] = v;
            });
            record.filled = before.filled;
            record.compiled = before.compiled;
            record.committed = before.committed;
          });
          const c = before.committed;
          try {
            for (const e of [...(c?.effects ?? [])].reverse()) {
              e.undo();
              journal.push(() => e.redo());
            }
          } catch (e) {
            rollback();
            return refusal(
              `${record.filename}: a migration could not be taken back: ${(e as Error).message}`,
            );
          }
          record.filled = [];
          record.compiled = undefined;
          record.committed = undefined;
        }
        // Cells last: nothing can fail after this.
        dropCells(store(), dropped);
        return null;
      },
      rollback,
    };
  }

  verify(record: ModuleRecord, w: FileWork | null): string | null {
    if (!record.holder) return `${record.filename} is not instrumented`;
    if (!w)
      return record.holder.some((x) => x !== undefined) ? `${record.filename}: slots still redirected` : null;
    const compiled = record.compiled ?? new Map<number, unknown>();
    if (compiled.size !== w.file.functions.length)
      return `${record.filename}: ${compiled.size} of ${w.file.functions.length} functions redirected`;
    for (const [i, fn] of compiled)
      if (record.holder[i] !== fn)
        return `${record.filename}: slot ${i} does not hold the replacement compiled for it`;
    return null;
  }
}

/** A replacement checked against the running instrumentation and compiled in its module, or why not. */
type Compiled = { fn: unknown } | string;

/** Per module instance (two instances of one file share its FunctionPatch objects). */
type Precompiled = Map<FileWork, Map<FunctionPatch, Compiled>>;

function compileReplacement(w: FileWork, table: ModuleTable, fp: FunctionPatch): Compiled {
  const problem = heavy().checkReplacement(table, fp, (n) => n in globalThis);
  return problem ? `${w.file.path}: ${problem}` : compileChecked(w, fp);
}

/** A replacement already checked, compiled through its module's gate. */
function compileChecked(w: FileWork, fp: FunctionPatch): Compiled {
  const { record, file } = w;
  let fn: unknown;
  try {
    fn = record.gate!(`(${withNamespace(fp.source, w.namespace, w.packageNamespace)})`);
  } catch (e) {
    return `${file.path}: ${fp.key} does not compile here: ${(e as Error).message}`;
  }
  if (typeof fn !== 'function') return `${file.path}: ${fp.key} did not compile to a function`;
  return { fn };
}

/** Full keys of the cells a file patch sets up in this module instance. */
function cellKeysOf(w: FileWork): string[] {
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

function refusal(reason: string): Refusal {
  return { ok: false, pending: false, reason };
}

function notInstrumented(record: ModuleRecord): Refusal {
  return refusal(`${record.filename} was loaded before the runtime and is not instrumented`);
}
