import type { AstNode, Variable } from '@hotpatch/instrument';
import { keyOf, withAddedProperties } from './added-properties.js';
import { changedStatement, rerun, statementName } from './changed-statements.js';
import type { DiffContext } from './context.js';
import { getterDefiners } from './getter-definers.js';
import { isCall, type Load, loadTimeCalls, nestedIn } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { type RegistrationPlan, registrationPatches, registrationPlan } from './registrations.js';
import { freeRefs, lineOf } from './scope.js';
import type { Cell } from './state.js';
import { calleeName, type Unit } from './units.js';

/**
 * Module level, statements: the statements that ran at load (not declarations), compared in order
 * as multisets. Changed ones and unchanged ones whose load-time result changed go to
 * changed-statements.ts, or are re-run as registrations (registrations.ts), or need a restart.
 */

const DECLARATION = new Set([
  'VariableDeclaration',
  'ClassDeclaration',
  'FunctionDeclaration',
  'ImportDeclaration',
]);

function isDeclarationStatement(stmt: AstNode): boolean {
  if (DECLARATION.has(stmt.type)) return true;
  return stmt.type === 'ExportNamedDeclaration' && stmt.declaration != null;
}

/** The statements that ran at load (not declarations), compared in order as multisets. */
export function statements(ctx: DiffContext, pair: UnitPair, out: ModuleLevel, load: Load): void {
  const { A, B } = ctx;
  const { ua, ub, where } = pair;
  const text = (side: 'A' | 'B', unit: Unit, stmt: AstNode) =>
    ctx.tokens(side === 'A' ? A : B, stmt.start, stmt.end, nestedIn(ctx, side, unit, stmt)).join(' ');
  const execA = ua.executable.filter((s) => !isDeclarationStatement(s));
  const execB = ub.executable.filter((s) => !isDeclarationStatement(s));
  const remaining = new Map<string, number>();
  const textsA = execA.map((s) => ({ stmt: s, text: text('A', ua, s) }));
  for (const { text: t } of textsA) remaining.set(t, (remaining.get(t) ?? 0) + 1);
  // Unchanged statements that call a changed function at load: one verdict per function called.
  const stale = new Map<string, AstNode[]>();
  for (const stmt of execB) {
    let t = text('B', ub, stmt);
    let n = remaining.get(t) ?? 0;
    let added: AstNode[] = [];
    if (n === 0) {
      // The running statement up to method syntax and new properties of its object literals
      // (added-properties.ts): the same statement, with new API the running object goes without.
      const unpaired = textsA.filter((x) => (remaining.get(x.text) ?? 0) > 0);
      const same = withAddedProperties(ctx, pair, stmt, unpaired);
      if (same) {
        t = same.textA;
        n = remaining.get(t)!;
        added = same.added;
        const getters = addedGetters(ctx, stmt, same.added);
        for (const p of same.added) {
          const name = keyOf(p);
          if (getters) {
            // One more getter on the running namespace object, defined at apply (getter-definers.ts).
            out.statements.push({
              kind: 'define',
              target: getters,
              key: JSON.stringify(name),
              value: p.value as AstNode,
              getter: true,
              name,
              unit: ub.fn,
              line: lineOf(B.source, p.start),
            });
            continue;
          }
          ctx.note(
            'property-added-unused',
            name,
            { where, detail: statementName(ctx, stmt) },
            lineOf(B.source, p.start),
          );
        }
      }
    }
    if (n > 0) {
      remaining.set(t, n - 1);
      // Same text, but what it computed at load changed: a function it calls, or a value the fix
      // recreates (a changed table that load-time statements go on to fill).
      // A wrapper's call statement (IIFE, UMD): its run-once functions' statements are examined
      // in their own pass, and the value it computes is not kept.
      const units =
        stmt.type === 'ExpressionStatement' && isCall(stmt.expression as AstNode) ? load.units : undefined;
      const why = [
        ...loadTimeCalls(load, stmt, units),
        ...usedCells(ctx, stmt, out.cells, added).map((c) => `uses ${c.name}`),
      ];
      if (why.length === 0) continue;
      if (stmt.type.startsWith('Export')) {
        // An ES module's exports are bindings importers hold: they would keep the running value.
        ctx.refuse(
          'export-changed',
          statementName(ctx, stmt),
          {
            where,
            detail: `it exports what the fix rebuilds (${why.join(', ')}); importers would keep the running value`,
          },
          lineOf(B.source, stmt.start),
        );
        continue;
      }
      if (isReRunnable(stmt)) changedStatement(ctx, pair, stmt, execA, out, why);
      else if (!rerun(ctx, pair, stmt, out))
        for (const w of why) stale.set(w, [...(stale.get(w) ?? []), stmt]);
      continue;
    }
    changedStatement(ctx, pair, stmt, execA, out, []);
  }
  // Registration calls (stale statements that call a function that only fills the unit's
  // tables and counters): run again at apply, in order, counters reset first.
  const plan = registrations(ctx, ub, stale);
  if (plan) {
    out.statements.push(...registrationPatches(ctx, ub, plan));
    const what = `${plan.calls.length} calls of ${plan.names.join(', ')}`;
    ctx.note('registrations-rerun', what, { where, detail: what }, lineOf(B.source, plan.calls[0]!.start));
  }
  for (const [why, all] of stale) {
    const stmts = all.filter((s) => !plan?.calls.includes(s));
    if (stmts.length === 0) continue;
    const name = stmts.length === 1 ? statementName(ctx, stmts[0]!) : `${stmts.length} statements`;
    ctx.refuse('changed-at-load', name, { where, detail: why }, lineOf(B.source, stmts[0]!.start));
  }
  for (const [t, n] of remaining) {
    if (n > 0) ctx.note('removed-statement', t.slice(0, 60), { where });
  }
}

/**
 * The registration plan for the stale statements (by reason: the changed function they reach):
 * for all of them when it exists, else for the reasons whose statements are registration code on
 * their own (the others are refused, each with its reason). Null when none is.
 */
function registrations(ctx: DiffContext, unit: Unit, stale: Map<string, AstNode[]>): RegistrationPlan | null {
  const quiet = ctx.input.quietModule ?? (() => false);
  const plan = (stmts: AstNode[]) =>
    stmts.length ? registrationPlan(ctx, unit, [...new Set(stmts)], quiet) : null;
  const all = plan([...stale.values()].flat());
  if (all) return all;
  const groups = [...stale.values()].filter((stmts) => plan(stmts) !== null);
  return groups.length < stale.size ? plan(groups.flat()) : null;
}

/**
 * Cells a statement reads or writes at load (not inside functions it defines, which run later,
 * nor inside `left` parts: properties that are not installed, added-properties.ts).
 */
export function usedCells(
  ctx: DiffContext,
  stmt: AstNode,
  cells: Map<Variable, Cell>,
  left: AstNode[] = [],
): Cell[] {
  const out = new Set<Cell>();
  for (const r of freeRefs(ctx.B, stmt)) {
    const cell = cells.get(r.resolved!);
    if (!cell) continue;
    const at = r.identifier.start;
    if (left.some((p) => p.start <= at && at < p.end)) continue;
    const inFunction = ctx.B.functions.some(
      (f) =>
        !f.once &&
        f.node.start >= stmt.start &&
        f.node.end <= stmt.end &&
        f.node.start <= r.identifier.start &&
        r.identifier.start < f.node.end,
    );
    if (!inFunction) out.add(cell);
  }
  return [...out];
}

/** A statement that can be run again at apply: a module-level assignment or property definition. */
function isReRunnable(stmt: AstNode): boolean {
  if (stmt.type !== 'ExpressionStatement') return false;
  const e = stmt.expression as AstNode;
  return (
    (e.type === 'AssignmentExpression' && e.operator === '=') ||
    (e.type === 'CallExpression' && calleeName(e.callee as AstNode) === 'Object.defineProperty')
  );
}

const definersOf = new WeakMap<AstNode, Set<string>>();

/**
 * The namespace object `stmt` defines getters on, when it is a call of a getter-defining helper
 * (`__export(ns, { k: () => k, … })`, getter-definers.ts) and every added property is one of its
 * getters: the apply defines those on the running object. Null otherwise.
 */
function addedGetters(ctx: DiffContext, stmt: AstNode, added: AstNode[]): AstNode | null {
  const call = stmt.type === 'ExpressionStatement' ? (stmt.expression as AstNode) : null;
  if (call?.type !== 'CallExpression' || (call.callee as AstNode).type !== 'Identifier') return null;
  const [target, all, ...rest] = call.arguments as AstNode[];
  if (rest.length || target?.type !== 'Identifier' || all?.type !== 'ObjectExpression') return null;
  let definers = definersOf.get(ctx.B.ast);
  if (!definers) definersOf.set(ctx.B.ast, (definers = getterDefiners(ctx.B.ast)));
  if (!definers.has((call.callee as AstNode).name as string)) return null;
  const own = all.properties as AstNode[];
  const getter = (p: AstNode) =>
    own.includes(p) && ['ArrowFunctionExpression', 'FunctionExpression'].includes((p.value as AstNode).type);
  return added.every(getter) ? target : null;
}
