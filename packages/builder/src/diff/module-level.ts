import type { FunctionInfo, Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { aliases, declarations, importedConstants } from './declarations.js';
import { imports } from './imports.js';
import { LoadCalls } from './load-calls.js';
import { changedSiblingOf, hostedBy, type Load } from './load-time.js';
import type { Cell, StatementPatch } from './state.js';
import { statements } from './statements.js';
import { bodyStatements, type Unit, unitOf } from './units.js';

/**
 * Phase 2, module level: what changed in the code that runs once — the module's top level and
 * run-once wrappers (IIFE, UMD factories). New and changed declarations become cells (values in
 * the module's hotpatch state, see state.ts); changed module-level assignments and property
 * definitions become statements re-run at apply; everything else that ran at load and changed
 * needs a restart. Its passes: imports.ts (ES module imports), declarations.ts (declarations
 * become cells), statements.ts and changed-statements.ts (load-time statements), with classes.ts
 * and objects.ts.
 */

export interface UnitPair {
  ub: Unit;
  ua: Unit;
  /** Key of the unit's function in A's naming ('' for the module). */
  unitKey: string;
  /** `at module level` / `in KEY`, for messages. */
  where: string;
}

export interface ModuleLevel {
  /** By variable of the fixed version. */
  cells: Map<Variable, Cell>;
  /** In source order. */
  statements: StatementPatch[];
  /** Unchanged declarations a unit's pass found must be rebuilt too (its pass then runs again). */
  promote: Set<string>;
}

/** The module and every run-once function present in both versions. */
export function unitPairs(ctx: DiffContext): UnitPair[] {
  const { A, B, m } = ctx;
  const pairs: UnitPair[] = [
    {
      ub: unitOf(null, bodyStatements(B, null)),
      ua: unitOf(null, bodyStatements(A, null)),
      unitKey: '',
      where: 'at module level',
    },
  ];
  for (const fb of B.functions) {
    const fa = m.toA.get(fb);
    if (!fb.once || !fa?.once || hostedBy(ctx, 'B', fb) || hostedBy(ctx, 'A', fa)) continue;
    pairs.push({
      ub: unitOf(fb, bodyStatements(B, fb)),
      ua: unitOf(fa, bodyStatements(A, fa)),
      unitKey: fa.key,
      where: `in ${fa.key}`,
    });
  }
  return pairs;
}

export function moduleLevel(ctx: DiffContext, pairs: UnitPair[], changed: Set<FunctionInfo>): ModuleLevel {
  const out: ModuleLevel = { cells: new Map(), statements: [], promote: new Set() };
  const load: Load = {
    calls: new LoadCalls(ctx.B, changedSiblingOf(ctx)),
    changed,
    units: new Set(pairs.flatMap((p) => (p.ub.fn ? [p.ub.fn.node] : []))),
    nameOf: (f) => ctx.m.keyInA(f),
  };
  importedConstants(ctx, out);
  for (const pair of pairs) {
    const rebuilt = new Set<string>();
    // A pass can find that tables it did not see change must be rebuilt with changed ones: it
    // runs again with those declarations rebuilt too.
    for (;;) {
      const mark = {
        changes: ctx.changes.length,
        restart: ctx.restart,
        cells: new Map(out.cells),
        statements: out.statements.length,
      };
      if (pair.ub.fn === null && ctx.input.sourceType === 'module') imports(ctx, pair, out);
      declarations(ctx, pair, out, load, rebuilt);
      aliases(ctx, pair);
      statements(ctx, pair, out, load);
      const more = [...out.promote].filter((n) => !rebuilt.has(n));
      out.promote.clear();
      if (more.length === 0) break;
      for (const n of more) rebuilt.add(n);
      ctx.changes.length = mark.changes;
      ctx.restart = mark.restart;
      out.cells = mark.cells;
      out.statements.length = mark.statements;
    }
  }
  return out;
}
