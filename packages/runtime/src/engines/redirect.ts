import { applyEdits } from '@hotpatch/core';
import { analyzeModule, guardShape } from '@hotpatch/instrument';
import { baselineSource, withNamespace } from './source.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult } from './types.js';

/**
 * The redirect engine: modules were instrumented when they loaded (packages/instrument), so a
 * patch is a set of replacement functions compiled through the module's own gate and put in
 * its slots. Works on every Node version, including 26 where LiveEdit is gone.
 */
export class RedirectEngine implements Engine {
  readonly name = 'redirect' as const;

  prepare(work: FileWork[]): PrepareResult {
    const plan: Array<{ record: ModuleRecord; fills: Map<number, unknown> }> = [];
    for (const w of work) {
      const { record, file } = w;
      if (!record.holder || !record.gate) {
        return {
          ok: false,
          pending: false,
          reason: `${record.filename} was loaded before the runtime and is not instrumented`,
        };
      }
      const baseline = baselineSource(record);
      // The same check LiveEdit makes: a bundle whose edits do not give patchedSha256 over this
      // baseline is refused on every engine alike (throws BundleError; nothing changed yet).
      applyEdits(baseline, file);
      const analysis = analyzeModule(baseline, { sourceType: record.sourceType });
      const fills = new Map<number, unknown>();
      for (const fp of file.functions) {
        const fn = analysis.byKey.get(fp.key);
        if (!fn)
          return {
            ok: false,
            pending: false,
            reason: `${file.path}: no function ${fp.key} in the running code`,
          };
        const shape = guardShape(fn);
        if (shape.call !== fp.call || (shape.scope !== null) !== fp.usesScope) {
          return {
            ok: false,
            pending: false,
            reason: `${file.path}: ${fp.key} does not have the shape the bundle expects`,
          };
        }
        let compiled: unknown;
        try {
          compiled = record.gate(`(${withNamespace(fp.source, w.namespace)})`);
        } catch (e) {
          return {
            ok: false,
            pending: false,
            reason: `${file.path}: ${fp.key} does not compile here: ${(e as Error).message}`,
          };
        }
        if (typeof compiled !== 'function') {
          return {
            ok: false,
            pending: false,
            reason: `${file.path}: ${fp.key} did not compile to a function`,
          };
        }
        fills.set(fn.index, compiled);
      }
      plan.push({ record, fills });
    }
    return slotChange(plan);
  }

  prepareRevert(records: ModuleRecord[]): PrepareResult {
    for (const record of records) {
      if (!record.holder)
        return { ok: false, pending: false, reason: `${record.filename} is not instrumented` };
    }
    return slotChange(records.map((record) => ({ record, fills: new Map<number, unknown>() })));
  }

  verify(record: ModuleRecord, w: FileWork | null): string | null {
    if (!record.holder) return `${record.filename} is not instrumented`;
    const filled = record.filled ?? [];
    if (!w)
      return filled.some((i) => record.holder![i] !== undefined)
        ? `${record.filename}: slots still redirected`
        : null;
    if (filled.length !== w.file.functions.length)
      return `${record.filename}: ${filled.length} of ${w.file.functions.length} functions redirected`;
    return filled.every((i) => typeof record.holder![i] === 'function')
      ? null
      : `${record.filename}: a slot is empty`;
  }
}

/**
 * Sets the slots of each record to exactly `fills` (all others empty), synchronously: no call can
 * observe a half-applied change. rollback() puts back the slots as they were at prepare.
 */
function slotChange(plan: Array<{ record: ModuleRecord; fills: Map<number, unknown> }>): PrepareResult {
  const previous = plan.map(({ record }) => ({
    record,
    filled: record.filled ?? [],
    values: (record.filled ?? []).map((i) => record.holder![i]),
  }));
  return {
    ok: true,
    commit: () => {
      for (const { record, fills } of plan) {
        for (const i of record.filled ?? []) record.holder![i] = undefined;
        for (const [i, fn] of fills) record.holder![i] = fn;
        record.filled = [...fills.keys()];
      }
      return null;
    },
    rollback: () => {
      for (const p of previous) {
        for (const i of p.record.filled ?? []) p.record.holder![i] = undefined;
        p.filled.forEach((i, k) => {
          p.record.holder![i] = p.values[k];
        });
        p.record.filled = p.filled;
      }
    },
  };
}
