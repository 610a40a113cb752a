import { sha256 } from '@hotpatch/core';
import { type AstNode, bindingNames, type FunctionInfo, type Variable } from '@hotpatch/instrument';
import { classChange } from './classes.js';
import { type DiffContext, sameTokens } from './context.js';
import { LoadCalls } from './load-calls.js';
import {
  changedSiblingOf,
  declaratorOf,
  hostedBy,
  isCall,
  type Load,
  loadTimeCalls,
  nestedIn,
  patternMember,
  varOf,
} from './load-time.js';
import { changedProperties, objectInPlace, plainProperties } from './objects.js';
import { resolveFrom } from './paths.js';
import { otherStateFilled } from './rebuild.js';
import { registrationPatches, registrationPlan } from './registrations.js';
import { declaringFunction, freeRefs, isReassigned, lineOf } from './scope.js';
import type { Cell, StatementPatch } from './state.js';
import { bodyStatements, calleeName, type Decl, isPureExpr, type Unit, unitOf } from './units.js';

/**
 * Phase 2, module level: what changed in the code that runs once — the module's top level and
 * run-once wrappers (IIFE, UMD factories). New and changed declarations become cells (values in
 * the module's hotpatch state, see state.ts); changed module-level assignments and property
 * definitions become statements re-run at apply; everything else that ran at load and changed
 * needs a restart.
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

function short(hash: string): string {
  return sha256(hash).slice(0, 8);
}

function importedConstants(ctx: DiffContext, out: ModuleLevel): void {
  const { A, B } = ctx;
  for (const [name, imported] of ctx.input.importedConstants ?? []) {
    const v = B.moduleScope.set.get(name);
    if (!v || !A.moduleScope.set.has(name)) continue;
    const stmt = v.defs[0]?.parent as AstNode | undefined;
    out.cells.set(v, {
      key: `/${name}#${short(imported.text)}`,
      name,
      init: null,
      initText: imported.text,
      unit: null,
      mutable: false,
      id: 'imported-constant-changed',
      line: stmt ? lineOf(B.source, stmt.start) : 1,
      used: false,
    });
    ctx.note('imported-constant-changed', name, { detail: imported.from });
  }
}

interface ImportBinding {
  source: string;
  imported: string | null; // null: namespace
}

function importBindings(body: AstNode[]): Map<string, ImportBinding & { node: AstNode }> {
  const out = new Map<string, ImportBinding & { node: AstNode }>();
  for (const stmt of body) {
    if (stmt.type !== 'ImportDeclaration') continue;
    const source = String((stmt.source as AstNode).value);
    for (const s of stmt.specifiers as AstNode[]) {
      const local = (s.local as AstNode).name as string;
      const imported =
        s.type === 'ImportNamespaceSpecifier'
          ? null
          : s.type === 'ImportDefaultSpecifier'
            ? 'default'
            : (((s.imported as AstNode).name ?? (s.imported as AstNode).value) as string);
      out.set(local, { source, imported, node: stmt });
    }
  }
  return out;
}

/** ES module imports the fix adds: loaded at apply (Migration import), read through a cell. */
function imports(ctx: DiffContext, pair: UnitPair, out: ModuleLevel): void {
  const { B, m } = ctx;
  const before = importBindings(pair.ua.body);
  const after = importBindings(pair.ub.body);
  for (const [local, b] of after) {
    const a = before.get(m.rename(local));
    if (a && a.source === b.source && a.imported === b.imported) continue;
    const line = lineOf(B.source, b.node.start);
    if (a) {
      ctx.refuse(
        'dependency-unloadable',
        local,
        { where: pair.where, detail: `${local} now comes from ${b.source}` },
        line,
      );
      continue;
    }
    const v = B.moduleScope.set.get(local);
    if (!v) continue;
    // A binding a changed sibling of this patch newly exports: its cell, in the package's state.
    const sibling = b.source.startsWith('.')
      ? resolveSibling(ctx.input.path, b.source, ctx.input.newExports)
      : null;
    if (sibling && b.imported !== null && ctx.input.newExports?.get(sibling)?.has(b.imported)) {
      out.cells.set(v, {
        key: `${sibling}#${b.imported}`,
        name: local,
        init: null,
        shared: true,
        providedBy: sibling,
        unit: null,
        mutable: false,
        id: 'import-added',
        line,
        used: false,
      });
      continue;
    }
    out.cells.set(v, {
      key: `import:${b.source}`,
      name: local,
      init: null,
      importSpec: b.source,
      ...(b.imported === null ? {} : { member: b.imported }),
      unit: null,
      mutable: false,
      id: 'import-added',
      line,
      used: false,
    });
  }
  const sideEffects = (body: AstNode[]) =>
    body
      .filter((s) => s.type === 'ImportDeclaration' && (s.specifiers as AstNode[]).length === 0)
      .map((s) => String((s.source as AstNode).value));
  const had = new Set(sideEffects(pair.ua.body));
  for (const spec of sideEffects(pair.ub.body))
    if (!had.has(spec))
      ctx.refuse('dependency-unloadable', spec, {
        where: pair.where,
        detail: `import '${spec}' for its effects at load`,
      });
}

/** The file of the patch a relative import names (path in the package), if it is one with new exports. */
function resolveSibling(
  from: string,
  spec: string,
  files: Map<string, Set<string>> | undefined,
): string | null {
  return files ? resolveFrom(from, spec, files) : null;
}

/** Local names an ES module body exports, with the names they are exported as. */
export function exportedLocals(body: AstNode[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const stmt of body) {
    if (stmt.type !== 'ExportNamedDeclaration' || stmt.source) continue;
    const decl = stmt.declaration as AstNode | null;
    if (decl) {
      const names =
        decl.type === 'VariableDeclaration'
          ? (decl.declarations as AstNode[]).flatMap((d) => bindingNames(d.id as AstNode))
          : decl.id
            ? [(decl.id as AstNode).name as string]
            : [];
      for (const n of names) out.set(n, n);
      continue;
    }
    for (const sp of stmt.specifiers as AstNode[]) {
      const local = sp.local as AstNode;
      const exported = sp.exported as AstNode;
      out.set(local.name as string, (exported.name ?? exported.value) as string);
    }
  }
  return out;
}

function declarations(
  ctx: DiffContext,
  pair: UnitPair,
  out: ModuleLevel,
  load: Load,
  rebuilt: Set<string>,
): void {
  const { A, B, m } = ctx;
  const { ua, ub, unitKey, where } = pair;
  // New exports of this ES module that a changed sibling imports: kept in the package's state.
  const shared = ub.fn === null ? ctx.input.newExports?.get(ctx.input.path) : undefined;
  const exportsB = shared ? exportedLocals(ub.body) : new Map<string, string>();
  const exportedHere =
    ub.fn === null && ctx.input.sourceType === 'module' ? exportedLocals(ub.body) : new Map<string, string>();
  for (const [name, db] of ub.decls) {
    const oldName = m.rename(name);
    const da = ua.decls.get(oldName);
    const vB = varOf(ctx, 'B', ub, name);
    if (!vB) continue;
    const line = lineOf(B.source, db.stmt.start);
    if (db.kind === 'function') {
      if (!da)
        out.cells.set(vB, {
          key: `${unitKey}/${name}`,
          name,
          init: db.init,
          unit: ub.fn,
          mutable: false,
          id: 'new-helper',
          line,
          used: false,
          ...sharedExport(ctx, shared, exportsB, name),
        });
      continue; // a changed function is diffed as a function
    }
    const textB = db.init ? ctx.tokens(B, db.init.start, db.init.end, nestedIn(ctx, 'B', ub, db.init)) : [];
    const textA = da?.init ? ctx.tokens(A, da.init.start, da.init.end, nestedIn(ctx, 'A', ua, da.init)) : [];
    // Same text, but a function it calls at load changed: it has another value now.
    const calls = db.init ? loadTimeCalls(load, db.init) : [];
    if (
      da &&
      sameTokens(textA, textB) &&
      samePattern(ctx, da, db) &&
      calls.length === 0 &&
      !rebuilt.has(name)
    )
      continue;
    const vA = varOf(ctx, 'A', ua, oldName);
    if (da?.init?.type === 'ClassDeclaration' && db.init?.type === 'ClassDeclaration') {
      classChange(ctx, pair, da, db, out, load);
      continue;
    }
    const mutable = isReassigned(vB);
    if (da && (mutable || (vA && isReassigned(vA)))) {
      ctx.refuse('state-mutated-changed', name, { where }, line);
      continue;
    }
    if (!da && !db.init && !mutable) continue; // `let x;` nobody assigns: nothing to carry
    if (da && !rebuilt.has(name) && objectInPlace(ctx, pair, name, da, db, out, load)) continue;
    const member = patternMember(db, name);
    if (member === false) {
      ctx.refuse('state-initialised-at-load', name, { where, detail: 'a destructuring pattern' }, line);
      continue;
    }
    if (da && exportedHere.has(name)) {
      // An ES module's export is a binding its importers read: a new value in a cell would reach
      // only this module's own code, while importers kept the running value.
      ctx.refuse(
        'export-changed',
        name,
        {
          where,
          detail: `it exports ${exportedHere.get(name)}, which the fix changes; importers would keep the running value`,
        },
        line,
      );
      continue;
    }
    const initText = db.init ? B.source.slice(db.init.start, db.init.end) : '';
    out.cells.set(vB, {
      key: `${unitKey}/${name}#${short(initText)}${member === null ? '' : `.${member}`}`,
      name,
      init: db.init,
      ...(member === null ? {} : { member }),
      unit: ub.fn,
      mutable,
      id: da ? 'constant-changed' : cellVerdict(db, mutable),
      line,
      used: false,
      ...(da ? {} : sharedExport(ctx, shared, exportsB, name)),
    });
    if (da) ctx.note('constant-changed', name, { where }, line);
  }
  // An unchanged declaration whose value was computed at load from a rebuilt one (validator's
  // `var CountryCodes = validISO31661Alpha2CountriesCodes`, then exported) holds the old value:
  // it is rebuilt too (the pass runs again with it), or refused if running code reassigns it.
  for (const [name, db] of ub.decls) {
    if (db.kind === 'function' || !db.init || rebuilt.has(name)) continue;
    const v = varOf(ctx, 'B', ub, name);
    if (!v || out.cells.has(v)) continue;
    if (usedCells(ctx, db.init, out.cells).length > 0) out.promote.add(name);
  }
  // Declarations the fix removed: their bindings stay in memory, unused.
  for (const [name, da] of ua.decls) {
    if (ub.decls.has(name) || [...m.renames.values()].includes(name)) continue;
    if (da.kind === 'function') continue; // reported as removed functions
    ctx.note('removed-statement', name, { where }, lineOf(A.source, da.stmt.start));
  }
}

/**
 * A new declaration this ES module exports and a changed sibling imports: its cell lives in the
 * package's state under the exported name, so that the sibling reads the same value.
 */
function sharedExport(
  ctx: DiffContext,
  shared: Set<string> | undefined,
  exportsB: Map<string, string>,
  name: string,
): Partial<Cell> {
  const exported = exportsB.get(name);
  if (!shared || exported === undefined || !shared.has(exported)) return {};
  return { key: `${ctx.input.path}#${exported}`, shared: true, used: true };
}

function cellVerdict(db: Decl, mutable: boolean): Cell['id'] {
  if (mutable) return 'new-state';
  if (isRequireCall(db.init)) return 'dependency-added';
  if (db.init?.type === 'ClassDeclaration' || db.init?.type === 'ClassExpression') return 'new-helper';
  return 'new-constant';
}

function isRequireCall(node: AstNode | null): boolean {
  let n = node;
  while (n && (n.type === 'MemberExpression' || n.type === 'CallExpression')) {
    if (n.type === 'CallExpression' && calleeName(n.callee as AstNode) === 'require') return true;
    n = (n.type === 'MemberExpression' ? n.object : n.callee) as AstNode;
  }
  return false;
}

/** Same destructuring shape (an unchanged initializer with a changed pattern is a change). */
function samePattern(ctx: DiffContext, da: Decl, db: Decl): boolean {
  const pa = declaratorOf(da, da.name)?.id as AstNode | undefined;
  const pb = declaratorOf(db, db.name)?.id as AstNode | undefined;
  if (!pa || !pb) return true;
  return sameTokens(ctx.tokens(ctx.A, pa.start, pa.end), ctx.tokens(ctx.B, pb.start, pb.end));
}

/**
 * A new `const X = <plain read>` whose expression is exactly that of an existing const of the
 * same unit (bundlers emit such duplicates, e.g. URL$1) is the same value: an alias.
 */
function aliases(ctx: DiffContext, pair: UnitPair): void {
  const { A, B, m } = ctx;
  for (const [name, db] of pair.ub.decls) {
    if (
      pair.ua.decls.has(m.rename(name)) ||
      db.stmt.type !== 'VariableDeclaration' ||
      db.stmt.kind !== 'const'
    )
      continue;
    if (!db.init || !isPlainRead(db.init)) continue;
    const want = ctx.tokens(B, db.init.start, db.init.end).join(' ');
    for (const [oldName, da] of pair.ua.decls) {
      if (!da.init || da.stmt.type !== 'VariableDeclaration' || da.stmt.kind !== 'const') continue;
      if (ctx.tokens(A, da.init.start, da.init.end).join(' ') === want) {
        m.renames.set(name, oldName);
        break;
      }
    }
  }
}

/** Only identifiers, member reads and logical operators: same text, same value. */
function isPlainRead(node: AstNode): boolean {
  switch (node.type) {
    case 'Identifier':
    case 'Literal':
      return true;
    case 'MemberExpression':
      return !node.computed && isPlainRead(node.object as AstNode);
    case 'LogicalExpression':
      return isPlainRead(node.left as AstNode) && isPlainRead(node.right as AstNode);
    default:
      return false;
  }
}

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
function statements(ctx: DiffContext, pair: UnitPair, out: ModuleLevel, load: Load): void {
  const { A, B } = ctx;
  const { ua, ub, where } = pair;
  const text = (side: 'A' | 'B', unit: Unit, stmt: AstNode) =>
    ctx.tokens(side === 'A' ? A : B, stmt.start, stmt.end, nestedIn(ctx, side, unit, stmt)).join(' ');
  const execA = ua.executable.filter((s) => !isDeclarationStatement(s));
  const execB = ub.executable.filter((s) => !isDeclarationStatement(s));
  const remaining = new Map<string, number>();
  for (const s of execA) {
    const t = text('A', ua, s);
    remaining.set(t, (remaining.get(t) ?? 0) + 1);
  }
  // Unchanged statements that call a changed function at load: one verdict per function called.
  const stale = new Map<string, AstNode[]>();
  for (const stmt of execB) {
    const t = text('B', ub, stmt);
    const n = remaining.get(t) ?? 0;
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
        ...usedCells(ctx, stmt, out.cells).map((c) => `uses ${c.name}`),
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
  // Registration calls (every stale statement calls a function that only fills the unit's
  // tables and counters): run again at apply, in order, counters reset first.
  const staleStatements = [...new Set([...stale.values()].flat())];
  const plan = staleStatements.length
    ? registrationPlan(ctx, ub, staleStatements, ctx.input.quietModule ?? (() => false))
    : null;
  if (plan) {
    out.statements.push(...registrationPatches(ctx, ub, plan));
    const what = `${plan.calls.length} calls of ${plan.names.join(', ')}`;
    ctx.note('registrations-rerun', what, { where, detail: what }, lineOf(B.source, plan.calls[0]!.start));
  } else
    for (const [why, stmts] of stale) {
      const name = stmts.length === 1 ? statementName(ctx, stmts[0]!) : `${stmts.length} statements`;
      ctx.refuse('changed-at-load', name, { where, detail: why }, lineOf(B.source, stmts[0]!.start));
    }
  for (const [t, n] of remaining) {
    if (n > 0) ctx.note('removed-statement', t.slice(0, 60), { where });
  }
}

/** Cells a statement reads or writes at load (not inside functions it defines, which run later). */
function usedCells(ctx: DiffContext, stmt: AstNode, cells: Map<Variable, Cell>): Cell[] {
  const out = new Set<Cell>();
  for (const r of freeRefs(ctx.B, stmt)) {
    const cell = cells.get(r.resolved!);
    if (!cell) continue;
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

function statementName(ctx: DiffContext, stmt: AstNode): string {
  return ctx.B.source.slice(stmt.start, Math.min(stmt.end, stmt.start + 60)).replace(/\s+/g, ' ');
}

function changedStatement(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
  why: string[],
): void {
  const { B } = ctx;
  const { where } = pair;
  const line = lineOf(B.source, stmt.start);
  const name = statementName(ctx, stmt);
  const sideEffect = () =>
    why.length
      ? ctx.refuse('changed-at-load', name, { where, detail: why.join(', ') }, line)
      : ctx.refuse('side-effect-changed', name, { where }, line);
  if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportAllDeclaration') {
    ctx.note('export-added-unused', name, { where }, line);
    return;
  }
  if (stmt.type === 'ExportDefaultDeclaration') {
    ctx.refuse('export-changed', name, { where, detail: 'a changed default export' }, line);
    return;
  }
  if (stmt.type !== 'ExpressionStatement') {
    if (!rerun(ctx, pair, stmt, out)) sideEffect();
    return;
  }
  const e = stmt.expression as AstNode;
  if (e.type === 'AssignmentExpression' && e.operator === '=') {
    assignment(ctx, pair, stmt, e, execA, out);
    return;
  }
  if (e.type === 'CallExpression' && calleeName(e.callee as AstNode) === 'Object.defineProperty') {
    const [target, key, descriptor] = e.arguments as AstNode[];
    if (target && key?.type === 'Literal' && descriptor && isStateRoot(ctx, target)) {
      out.statements.push({
        kind: 'define',
        target,
        key: JSON.stringify(String(key.value)),
        value: descriptor,
        name: `${B.source.slice(target.start, target.end)}.${String(key.value)}`,
        unit: pair.ub.fn,
        line,
      });
      return;
    }
  }
  if (!rerun(ctx, pair, stmt, out)) sideEffect();
}

/** An unchanged declaration that can be made anew at apply: a value nothing reassigns, initialised once. */
function rebuildable(ctx: DiffContext, pair: UnitPair, name: string): boolean {
  const d = pair.ub.decls.get(name);
  const v = varOf(ctx, 'B', pair.ub, name);
  return (
    !!d && !!v && !!d.init && d.kind !== 'function' && d.init.type !== 'ClassDeclaration' && !isReassigned(v)
  );
}

/** Load-time code that only fills cells runs again at apply (rebuild.ts). */
function rerun(ctx: DiffContext, pair: UnitPair, stmt: AstNode, out: ModuleLevel): boolean {
  if (stmt.type.startsWith('Export') || stmt.type === 'ImportDeclaration') return false;
  const others = otherStateFilled(ctx, stmt, (v) => out.cells.has(v));
  if (others === null) return false;
  if (others.length) {
    // Tables filled together with changed ones: rebuilt too, when they can be made anew.
    const names = others.map((v) => v.name);
    if (!names.every((n) => rebuildable(ctx, pair, n))) return false;
    for (const n of names) out.promote.add(n);
    return true;
  }
  out.statements.push({
    kind: 'rerun',
    target: null,
    key: '',
    value: stmt,
    name: statementName(ctx, stmt),
    unit: pair.ub.fn,
    line: lineOf(ctx.B.source, stmt.start),
  });
  return true;
}

/** `exports.x = …`, `module.exports.x = …`, `Foo.prototype.x = …`: re-run at apply with the new value. */
function assignment(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  e: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
): void {
  const { B } = ctx;
  const { where } = pair;
  const line = lineOf(B.source, stmt.start);
  const name = statementName(ctx, stmt);
  const targets: AstNode[] = [];
  let value: AstNode = e;
  while (value.type === 'AssignmentExpression' && value.operator === '=') {
    targets.push(value.left as AstNode);
    value = value.right as AstNode;
  }
  const isVoid =
    (value.type === 'UnaryExpression' &&
      value.operator === 'void' &&
      isPureExpr(value.argument as AstNode, new Set())) ||
    (value.type === 'Identifier' && value.name === 'undefined');
  if (isVoid && targets.every((t) => t.type === 'MemberExpression')) {
    // tsc's `exports.a = exports.b = void 0;`: slots for exports assigned later; nothing to carry.
    ctx.note('export-added-unused', name, { where }, line);
    return;
  }
  if (targets.length !== 1) {
    ctx.refuse('side-effect-changed', name, { where }, line);
    return;
  }
  const target = targets[0]!;
  if (isModuleExports(target)) {
    if (value.type !== 'ObjectExpression') {
      ctx.refuse('export-changed', name, { where, detail: "it replaces the module's exports object" }, line);
      return;
    }
    exportsObject(ctx, pair, stmt, value, execA, out);
    return;
  }
  if (enumMember(ctx, pair, target, value, out, line)) return;
  if (target.type !== 'MemberExpression' || !isStateRoot(ctx, target)) {
    ctx.refuse('side-effect-changed', name, { where }, line);
    return;
  }
  const property = target.property as AstNode;
  out.statements.push({
    kind: 'assign',
    target: target.object as AstNode,
    key: target.computed ? B.source.slice(property.start, property.end) : JSON.stringify(property.name),
    value,
    name: B.source.slice(target.start, target.end),
    unit: pair.ub.fn,
    line,
  });
}

/**
 * A TypeScript enum member as tsc compiles it, `E[E["K"] = 6] = "K"`: two plain assignments on
 * the enum object (name → value, value → name), re-run at apply.
 */
function enumMember(
  ctx: DiffContext,
  pair: UnitPair,
  target: AstNode,
  value: AstNode,
  out: ModuleLevel,
  line: number,
): boolean {
  const inner = target.property as AstNode;
  if (target.type !== 'MemberExpression' || !target.computed || inner.type !== 'AssignmentExpression')
    return false;
  const left = inner.left as AstNode;
  const number = inner.right as AstNode;
  const object = target.object as AstNode;
  if (
    inner.operator !== '=' ||
    left.type !== 'MemberExpression' ||
    !left.computed ||
    (left.property as AstNode).type !== 'Literal' ||
    number.type !== 'Literal' ||
    value.type !== 'Literal' ||
    object.type !== 'Identifier' ||
    (left.object as AstNode).type !== 'Identifier' ||
    (left.object as AstNode).name !== object.name ||
    !isStateRoot(ctx, left)
  )
    return false;
  const { B } = ctx;
  const text = (n: AstNode) => B.source.slice(n.start, n.end);
  const name = `${object.name}[${text(left.property as AstNode)}]`;
  const common = { kind: 'assign' as const, target: left.object as AstNode, unit: pair.ub.fn, line };
  out.statements.push({ ...common, key: text(left.property as AstNode), value: number, name });
  out.statements.push({ ...common, key: text(number), value, name: `${object.name}[${text(number)}]` });
  return true;
}

function isModuleExports(n: AstNode): boolean {
  return (
    n.type === 'MemberExpression' &&
    !n.computed &&
    (n.object as AstNode).type === 'Identifier' &&
    (n.object as AstNode).name === 'module' &&
    (n.property as AstNode).name === 'exports'
  );
}

/** Member targets rooted in module state: `exports`, `module.exports`, or a binding of the module or of a run-once unit. */
function isStateRoot(ctx: DiffContext, target: AstNode): boolean {
  let root = target;
  while (root.type === 'MemberExpression') {
    if (root.computed && (root.property as AstNode).type !== 'Literal') return false;
    root = root.object as AstNode;
  }
  if (root.type !== 'Identifier') return false;
  const name = root.name as string;
  if (ctx.input.sourceType === 'commonjs' && (name === 'exports' || name === 'module')) return true;
  for (const s of ctx.B.scopes.scopes) {
    const ref = s.references.find((r) => r.identifier.start === root.start);
    if (!ref) continue;
    const v = ref.resolved;
    if (!v) return false;
    const at = declaringFunction(ctx.B, v);
    return at === null || (at !== 'block' && at.once);
  }
  return false;
}

/** `module.exports = { … }` changed: new or changed properties are assigned on the running exports object. */
function exportsObject(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  obj: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
): void {
  const { B } = ctx;
  const line = lineOf(B.source, stmt.start);
  const objA = execA
    .map((s) => (s.type === 'ExpressionStatement' ? (s.expression as AstNode) : null))
    .find((x) => x?.type === 'AssignmentExpression' && isModuleExports(x.left as AstNode))?.right as
    | AstNode
    | undefined;
  const before = objA?.type === 'ObjectExpression' ? plainProperties(objA) : null;
  const after = plainProperties(obj);
  if (!before || !after) {
    ctx.refuse(
      'export-changed',
      statementName(ctx, stmt),
      { where: pair.where, detail: 'a changed exports object' },
      line,
    );
    return;
  }
  for (const [key, value] of changedProperties(ctx, pair, before, after))
    out.statements.push({
      kind: 'assign',
      target: null,
      targetText: 'module.exports',
      key: JSON.stringify(key),
      value,
      name: `module.exports.${key}`,
      unit: pair.ub.fn,
      line: lineOf(B.source, value.start),
    });
  for (const key of before.keys())
    if (!after.has(key)) ctx.note('removed-statement', `module.exports.${key}`, { where: pair.where }, line);
}
