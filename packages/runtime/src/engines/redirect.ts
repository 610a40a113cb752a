import type { FunctionPatch } from '@hotpatch/core';
import { cellKey, type ModuleTable } from '@hotpatch/instrument';
import { dropCells, installedCells } from '../cells.js';
import { declineEntry } from '../cjs-code-cache.js';
import { fileMayImport } from '../new-files.js';
import { checkedReplacements } from '../off-thread.js';
import { type Committed, cellKeysOf, compileMigration, type Effect, type Step } from './migrations.js';
import { type Compiled, compileChecked, compileReplacement, type Precompiled } from './replacements.js';
import { withNamespace } from './source.js';
import { tableAsync, tableOf } from './table.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult, Refusal } from './types.js';

export type { Committed } from './migrations.js';

const cells = () => installedCells().c;

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
      const blocked = importBlocked(w);
      if (blocked) return blocked;
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
      dropCells(installedCells(), made);
      return r;
    };
    for (const w of work) {
      const { record, file } = w;
      if (!record.holder || !record.gate) return fail(notInstrumented(record));
      const blocked = importBlocked(w);
      if (blocked) return fail(blocked);
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
        const result = compileMigration(w, table, m, made, phase !== 'load');
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
      dropCells(installedCells(), made);
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
          const before = saved(record);
          journal.push(before.back);
          // A cumulative patch first takes the one it replaces back to the baseline.
          const refused = undoCommitted(
            before.committed,
            journal,
            rollback,
            `${w.file.path}: the replaced patch could not be taken back`,
          );
          if (refused) return refused;
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
          const before = saved(record);
          if (before.committed) dropped.push(...before.committed.cells);
          // Slots first: from here no call reaches the patch's code or state.
          record.holder!.fill(undefined);
          journal.push(before.back);
          const refused = undoCommitted(
            before.committed,
            journal,
            rollback,
            `${record.filename}: a migration could not be taken back`,
          );
          if (refused) return refused;
          record.filled = [];
          record.compiled = undefined;
          record.committed = undefined;
        }
        // Cells last: nothing can fail after this.
        dropCells(installedCells(), dropped);
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

/** A record's redirect state as it is now (slots, what filled them, committed effects), and how to put it back. */
function saved(record: ModuleRecord): { committed: Committed | undefined; back: () => void } {
  const before = {
    holder: [...record.holder!],
    filled: record.filled,
    compiled: record.compiled,
    committed: record.committed,
  };
  const back = () => {
    before.holder.forEach((v, i) => {
      record.holder![i] = v;
    });
    record.filled = before.filled;
    record.compiled = before.compiled;
    record.committed = before.committed;
  };
  return { committed: before.committed, back };
}

/**
 * Takes a committed patch's effects back, newest first, journalling how to make each again; when
 * one throws, everything journalled is rolled back and the refusal says what could not be undone.
 */
function undoCommitted(
  committed: Committed | undefined,
  journal: Array<() => void>,
  rollback: () => void,
  what: string,
): Refusal | null {
  try {
    for (const e of [...(committed?.effects ?? [])].reverse()) {
      e.undo();
      journal.push(() => e.redo());
    }
    return null;
  } catch (e) {
    rollback();
    return refusal(`${what}: ${(e as Error).message}`);
  }
}

function refusal(reason: string): Refusal {
  return { ok: false, pending: false, reason };
}

/**
 * A patch whose code may call import() cannot run in a module the runtime's code cache compiled
 * (such a script has no import() of its own: cjs-code-cache.ts). Refused, and the module's entry
 * is declined, so that after a restart Node compiles it and the patch applies.
 */
function importBlocked(w: FileWork): Refusal | null {
  const entry = w.record.codeCacheEntry;
  if (!entry || !fileMayImport(w.file)) return null;
  declineEntry(entry);
  return refusal(
    `${w.file.path}: the patch's code calls import(), which this module cannot (it was compiled by the runtime's code cache); restart the process and apply again (it is then compiled by Node)`,
  );
}

function notInstrumented(record: ModuleRecord): Refusal {
  return refusal(`${record.filename} was loaded before the runtime and is not instrumented`);
}
