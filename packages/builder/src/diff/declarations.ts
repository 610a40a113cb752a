import { sha256 } from '@hotpatch/core';
import type { AstNode } from '@hotpatch/instrument';
import { classChange } from './classes.js';
import { type DiffContext, sameTokens } from './context.js';
import { exportedLocals } from './imports.js';
import { declaratorOf, type Load, loadTimeCalls, nestedIn, patternMember, varOf } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { objectInPlace } from './objects.js';
import { regexInPlace } from './regexes.js';
import { isReassigned, lineOf, mutatedInPlace } from './scope.js';
import type { Cell } from './state.js';
import { usedCells } from './statements.js';
import { calleeName, type Decl, type Unit } from './units.js';

/**
 * Module level, declarations: new and changed declarations of a unit (and constants imported from
 * changed files) become cells; a changed class or object literal goes to classes.ts / objects.ts;
 * a changed binding running code reassigns needs a restart.
 */

function short(hash: string): string {
  return sha256(hash).slice(0, 8);
}

export function importedConstants(ctx: DiffContext, out: ModuleLevel): void {
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

export function declarations(
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
    // `var Pack = class extends A { … }` (esbuild's and many ES modules' form): the same class as a
    // declaration, reached through the variable, when neither release ever reassigns it. (Its
    // methods' bodies are diffed as functions; this is its heritage, fields and members.)
    const declarator = da && classBinding(db);
    if (declarator && classBinding(da)) {
      const vA = varOf(ctx, 'A', ua, oldName);
      if (!isReassigned(vB) && !(vA && isReassigned(vA)))
        classChange(ctx, pair, da!, db, out, load, declarator);
      else if (!sameTokens(initTokens(ctx, 'A', ua, da), initTokens(ctx, 'B', ub, db)))
        ctx.refuse(
          'state-mutated-changed',
          name,
          { where, detail: 'a class in a variable running code reassigns' },
          line,
        );
      continue;
    }
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
    const textB = initTokens(ctx, 'B', ub, db);
    const textA = da ? initTokens(ctx, 'A', ua, da) : [];
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
    // `Symbol('queue')` → `Symbol('pendingLinks')`: a symbol is an identity, and running objects
    // hold properties keyed by the running one (`[QUEUE] = new Map()`). A new symbol in a cell
    // would find none of them; the running one, kept, differs only in its description.
    if (da && isSymbolCall(da.init) && isSymbolCall(db.init)) {
      ctx.note('symbol-kept', name, { where }, line);
      continue;
    }
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
    if (da && !rebuilt.has(name) && regexInPlace(ctx, pair, name, da, db, out)) continue;
    // A changed object or array that running code changes in place (`t.n++`, `list.push(x)`): a
    // new value in a cell would drop what it holds now (a counter, a cache, a registry). Objects at
    // module level were updated in place above; here (inside a run-once wrapper) none can be.
    if (
      da &&
      isContainerLiteral(db.init) &&
      [vA && mutatedInPlace(A, vA, ua.fn), mutatedInPlace(B, vB, ub.fn)].some(Boolean)
    ) {
      ctx.refuse('state-mutated-changed', name, { where }, line);
      continue;
    }
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
export function aliases(ctx: DiffContext, pair: UnitPair): void {
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

/** An object or array literal, or a new Map/Set/Array/Date/WeakMap: a value code may change in place. */
function isContainerLiteral(init: AstNode | null | undefined): boolean {
  if (!init) return false;
  if (init.type === 'ObjectExpression' || init.type === 'ArrayExpression') return true;
  const callee = init.callee as AstNode | undefined;
  return (
    init.type === 'NewExpression' &&
    callee?.type === 'Identifier' &&
    ['Map', 'Set', 'WeakMap', 'WeakSet', 'Array', 'Date', 'Object'].includes(callee.name as string)
  );
}

/** A declaration's initializer as compared: its tokens, nested functions as their keys. */
function initTokens(ctx: DiffContext, side: 'A' | 'B', unit: Unit, d: Decl): string[] {
  return d.init ? ctx.tokens(ctx[side], d.init.start, d.init.end, nestedIn(ctx, side, unit, d.init)) : [];
}

/** The identifier a `var X = class { … }` declaration binds, or null for any other declaration. */
function classBinding(d: Decl): AstNode | null {
  if (d.init?.type !== 'ClassExpression') return null;
  const declarator = declaratorOf(d, d.name);
  const id = declarator?.id as AstNode | undefined;
  return declarator?.init === d.init && id?.type === 'Identifier' ? id : null;
}

/** `Symbol(…)` (not `Symbol.for`, which is keyed by its text): a fresh identity each time it runs. */
function isSymbolCall(node: AstNode | null): boolean {
  const callee = node?.type === 'CallExpression' ? (node.callee as AstNode) : null;
  return callee?.type === 'Identifier' && callee.name === 'Symbol';
}
