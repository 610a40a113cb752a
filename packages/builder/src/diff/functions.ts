import type { VerdictId } from '@hotpatch/core';
import type { FunctionInfo, Variable } from '@hotpatch/instrument';
import { equivalentHelper } from './compiler-helpers.js';
import { type DiffContext, sameTokens } from './context.js';
import { innermostFunction, lineOf } from './scope.js';
import type { Cell } from './state.js';

/**
 * Phase 3, functions: which functions run changed code — those whose own text changed (nested
 * functions are compared on their own) and those that use a cell (a new or changed module-level
 * value: they must read it from the module's hotpatch state) — and the user's selection of them.
 */

export interface ChangedFunction {
  id: VerdictId;
  /** For uses-changed-state: which value. */
  detail?: string;
}

/**
 * Functions (of the fixed version) whose own code changed; run-once bodies are units instead. A
 * compiler helper replaced by another release of itself (compiler-helpers.ts) is not a change: the
 * running one stays, and so does what it built at load.
 */
export function textChanged(ctx: DiffContext): Set<FunctionInfo> {
  const { A, B, m } = ctx;
  const out = new Set<FunctionInfo>();
  for (const fb of B.functions) {
    const fa = m.toA.get(fb);
    if (!fa || fb.once) continue;
    const ta = ctx.tokens(A, fa.node.start, fa.node.end, fa.children);
    const tb = ctx.tokens(B, fb.node.start, fb.node.end, fb.children);
    if (sameTokens(ta, tb)) continue;
    const difference = equivalentHelper(A, fa, B, fb);
    if (difference === null) out.add(fb);
    else {
      ctx.keptHelpers.add(fb);
      ctx.note('helper-equivalent', fa.key, { detail: difference }, lineOf(B.source, fb.node.start));
    }
  }
  return out;
}

export function changedFunctions(
  ctx: DiffContext,
  cells: Map<Variable, Cell>,
  own: Set<FunctionInfo>,
): Map<FunctionInfo, ChangedFunction> {
  const { A, B, m } = ctx;
  const changed = new Map<FunctionInfo, ChangedFunction>();
  for (const fb of own) changed.set(fb, { id: changeId(m.toA.get(fb)!) });
  for (const fa of m.unmatchedA) ctx.note('removed-function', fa.key, {}, lineOf(A.source, fa.node.start));

  // Users of cells read the new value: they run changed code too.
  for (const [v, cell] of cells) {
    for (const r of v.references) {
      if (r.init) continue;
      if (cell.init && r.identifier.start >= cell.init.start && r.identifier.end <= cell.init.end) continue;
      let target = innermostFunction(B, r.identifier.start);
      while (target && !m.toA.has(target)) target = target.parent;
      if (!target || target.once || changed.has(target) || ctx.keptHelpers.has(target)) continue;
      changed.set(target, {
        id: 'uses-changed-state',
        detail: `${cell.name}, ${cell.unit ? `new in ${m.keyInA(cell.unit)}` : 'new at module level'}`,
      });
    }
  }
  select(ctx, changed);
  return changed;
}

function changeId(fa: FunctionInfo): VerdictId {
  if (fa.kind === 'constructor') return fa.derived ? 'derived-constructor-changed' : 'constructor-changed';
  if (fa.kind === 'method' || fa.kind === 'getter' || fa.kind === 'setter')
    return fa.classNode || fa.key.includes('#') ? 'method-changed' : 'function-changed';
  if (fa.parent && !fa.parent.once) return 'closure-changed';
  return 'function-changed';
}

/** --exclude and --only. */
function select(ctx: DiffContext, changed: Map<FunctionInfo, ChangedFunction>): void {
  const { B, m, input } = ctx;
  for (const fb of [...changed.keys()]) {
    const key = m.keyInA(fb);
    if (input.exclude?.has(key)) {
      changed.delete(fb);
      ctx.note('excluded', key, { detail: 'changed function' }, lineOf(B.source, fb.node.start));
    } else if (input.only && !input.only.has(key)) {
      changed.delete(fb);
      ctx.note('not-selected', key, {}, lineOf(B.source, fb.node.start));
    }
  }
}
