import type { Migration } from '@hotpatch/core';
import type { AstNode, FunctionInfo, Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { statementMigration } from './emit.js';
import type { ChangedFunction } from './functions.js';
import { memoResets } from './memos.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { type Problem, type Resolver, refuseWith, type Site } from './references.js';
import type { Rewrite } from './rewrites.js';
import { declaringFunction, freeRefs, innermostFunction } from './scope.js';
import type { Cell } from './state.js';

/**
 * The patch's migrations, in the fixed code's order: statements re-run at apply, then the module
 * state the live changes (and those) use, then memo resets.
 */
export function migrationsOf(
  ctx: DiffContext,
  resolver: Resolver,
  level: ModuleLevel,
  pairs: UnitPair[],
  changed: Map<FunctionInfo, ChangedFunction>,
): Migration[] {
  const { B, m } = ctx;
  const statementMigrations: Migration[] = [];
  const position = new Map<Migration, number>();
  for (const s of level.statements) {
    const site: Site = { kind: 'unit', unitB: s.unit, unitA: s.unit ? (m.toA.get(s.unit) ?? null) : null };
    const target = s.target
      ? resolver.resolve(s.target, site)
      : { rewrites: [] as Rewrite[], problems: [] as Problem[] };
    const value = s.valueText
      ? { rewrites: [] as Rewrite[], problems: [] as Problem[] }
      : resolver.resolve(s.value, site);
    // Registration code reads and writes its own tables and counters in order, by design.
    const unstable = s.registration ? [] : unstableReads(ctx, s.value);
    const problems = [...target.problems, ...value.problems, ...unstable];
    if (problems.length) {
      refuseWith(ctx, s.name, problems, s.line);
      continue;
    }
    const mg = statementMigration(B, s, target.rewrites, value.rewrites, site.unitA?.key);
    statementMigrations.push(mg);
    position.set(mg, s.value.start);
    if (s.registration) continue; // reported once for the unit (registrations-rerun)
    if (s.getter) ctx.note('export-getter-added', s.name, { detail: s.name }, s.line);
    else if (s.kind === 'rerun') ctx.note('state-rebuilt', s.name, { detail: s.name }, s.line);
    else if (s.kind === 'recompile') ctx.note('regex-recompiled', s.name, { detail: s.name }, s.line);
    else ctx.note(s.inPlace ? 'object-updated' : 'export-assigned', s.name, { detail: s.name }, s.line);
  }
  const migrations: Migration[] = [];
  cellsUsed(ctx, resolver, level.cells, migrations, position);
  migrations.push(...statementMigrations);
  // In the fixed code's order: what a statement computes can depend on what comes before it.
  // ES module imports first (they load before the module's code), memo resets last.
  const at = (x: Migration) =>
    x.kind === 'import' ? -1 : x.kind === 'reset' ? Number.POSITIVE_INFINITY : (position.get(x) ?? 0);
  migrations.sort((x, y) => at(x) - at(y));
  for (const r of memoResets(ctx, pairs, new Set(changed.keys()))) {
    const unitA = r.unit ? (m.toA.get(r.unit) ?? null) : null;
    migrations.push({
      kind: 'reset',
      target: r.name,
      source: r.initial,
      author: false,
      ...(unitA ? { scope: unitA.key } : {}),
    });
    ctx.note('memo-reset', r.name, { detail: r.builder });
  }
  return migrations;
}

/** Reports cells the live changes use, and turns those that can be computed at apply into migrations. */
function cellsUsed(
  ctx: DiffContext,
  resolver: Resolver,
  cells: Map<unknown, Cell>,
  out: Migration[],
  position: Map<Migration, number>,
): void {
  const imported = new Set<string>();
  // A cell's initializer can use other cells: until no new one is found in use.
  const done = new Set<Cell>();
  for (let found = true; found; ) {
    found = false;
    for (const cell of cells.values()) {
      if (!cell.used || done.has(cell)) continue;
      done.add(cell);
      found = true;
      const before = out.length;
      cellUsed(ctx, resolver, cell, imported, out);
      for (const mg of out.slice(before)) position.set(mg, cell.init?.start ?? 0);
    }
  }
  for (const cell of cells.values())
    if (!cell.used && cell.id !== 'constant-changed' && cell.id !== 'imported-constant-changed')
      ctx.note('declaration-unused', cell.name, {}, cell.line);
}

function cellUsed(
  ctx: DiffContext,
  resolver: Resolver,
  cell: Cell,
  imported: Set<string>,
  out: Migration[],
): void {
  const { m } = ctx;
  {
    const where = cell.unit ? `in ${m.keyInA(cell.unit)}` : 'at module level';
    if (cell.providedBy !== undefined) {
      ctx.note(
        'import-added',
        cell.name,
        { where, detail: `a new export of ${cell.providedBy}, which the patch creates` },
        cell.line,
      );
      return;
    }
    if (cell.importSpec !== undefined) {
      if (!imported.has(cell.importSpec)) {
        imported.add(cell.importSpec);
        out.push({ kind: 'import', key: cell.key, source: cell.importSpec, author: false });
        ctx.note('import-added', cell.name, { where, detail: cell.importSpec }, cell.line);
      }
      return;
    }
    if (cell.id !== 'constant-changed' && cell.id !== 'imported-constant-changed') {
      const detail = cell.init
        ? ctx.B.source.slice(cell.init.start, Math.min(cell.init.end, cell.init.start + 40))
        : '';
      ctx.note(cell.id, cell.name, { where, detail }, cell.line);
    }
    const unstable = cell.init ? unstableReads(ctx, cell.init) : [];
    if (unstable.length) {
      refuseWith(ctx, cell.name, unstable, cell.line);
      return;
    }
    // Created at apply, so that an initializer that throws refuses the patch with nothing changed.
    const unitA = cell.unit ? (m.toA.get(cell.unit) ?? null) : null;
    const res = {
      rewrites: [] as Rewrite[],
      problems: [] as Problem[],
      stale: [] as string[],
      liveEditNote: null,
    };
    const source = resolver.cellInit(cell, res);
    if (res.problems.length || res.stale.length) {
      refuseWith(
        ctx,
        cell.name,
        res.problems.length ? res.problems : [{ id: 'stale-closure-state', detail: res.stale.join(', ') }],
        cell.line,
      );
      return;
    }
    out.push({
      kind: 'cell',
      key: cell.key,
      source,
      author: false,
      ...(unitA ? { scope: unitA.key } : {}),
      ...(cell.shared ? { shared: true } : {}),
    });
  }
}

/**
 * Module-level variables an initializer reads that running code reassigns: its value at apply
 * could differ from the value a fresh load computes.
 */
function unstableReads(ctx: DiffContext, node: AstNode): Problem[] {
  const out: Problem[] = [];
  for (const r of freeRefs(ctx.B, node)) {
    const v = r.resolved!;
    if (declaringFunction(ctx.B, v) !== null) continue;
    const va = ctx.A.moduleScope.set.get(ctx.m.rename(v.name));
    if (va && changedAfterLoad(ctx, va) && !isInsideFunction(ctx, r.identifier.start, node))
      out.push({ id: 'state-initialised-at-load', detail: `${v.name}, which running code changes` });
  }
  return out;
}

/** Written by functions that run after load (writes at the top level, or in run-once wrappers, are done by then). */
function changedAfterLoad(ctx: DiffContext, v: Variable): boolean {
  return v.references.some((r) => {
    if (!r.isWrite() || r.init) return false;
    const f = innermostFunction(ctx.A, r.identifier.start);
    return f !== null && !f.once;
  });
}

/** References inside a function of the initializer run later (when called), not at apply. */
function isInsideFunction(ctx: DiffContext, pos: number, node: AstNode): boolean {
  return ctx.B.functions.some(
    (f) => f.node.start >= node.start && f.node.end <= node.end && f.node.start <= pos && pos < f.node.end,
  );
}
