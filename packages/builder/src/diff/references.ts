import {
  type AstNode,
  cellExpression,
  cellRead,
  directiveEnd,
  type FunctionInfo,
  GLOBAL,
  type Reference,
  reachableEnclosing,
  SCOPE_PARAM,
  SELF_PARAM,
  scopeVariables,
  shadowRead,
  type Variable,
} from '@hotpatch/instrument';
import { inlinableLiteral, isFunctionDeclaration, runningName } from './bindings.js';
import type { DiffContext } from './context.js';
import type { Resolution, Site } from './resolution.js';
import {
  cellWrite,
  liveRewrites,
  type Rewrite,
  redirectRewrites,
  rewriteRange,
  scopeAccess,
} from './rewrites.js';
import { declaringFunction, freeRefs, isReassigned, outerClassBinding, parentOfIdentifier } from './scope.js';
import { type ShadowPlan, shadowable } from './shadows.js';
import type { Cell } from './state.js';
import { SyntaxFixups } from './syntax-fixups.js';

/**
 * Phase 4, references: how new code reaches every binding it names, from where it will run.
 * A replacement is compiled in the module's scope (it sees module-level bindings directly) and
 * reaches the variables of enclosing functions through the scope accessor the guard passes; a
 * migration runs in the module's scope too, with the accessor of its run-once wrapper. Each
 * reference becomes a rewrite, or a problem (a restart verdict) when it cannot be reached.
 */

// The resolver's result types, and the helpers its callers use, live beside it; re-exported here.
export { runningName } from './bindings.js';
export { type Problem, type Resolution, refuseWith, type Site } from './resolution.js';

/** Past this many characters, a cell's LiveEdit form is not built (LiveEdit is ruled out instead). */
const LIVE_INLINE_LIMIT = 100_000;

export class Resolver {
  readonly #starts: Set<number>;
  readonly #fixups: SyntaxFixups;

  constructor(
    readonly ctx: DiffContext,
    readonly cells: Map<Variable, Cell>,
    statementStarts: Set<number>,
  ) {
    this.#starts = statementStarts;
    this.#fixups = new SyntaxFixups(ctx.B.ast);
  }

  /** Resolves every free reference inside `node` (a changed function or a migration's expression). */
  resolve(node: AstNode, site: Site): Resolution {
    const out: Resolution = { rewrites: [], problems: [], stale: [], liveEditNote: null };
    for (const r of freeRefs(this.ctx.B, node)) this.#ref(r, site, out, out.rewrites, 0);
    if (site.kind === 'function') out.rewrites = snapshotAtEntry(site.fb, out.rewrites);
    this.#fixups.shorthands(out.rewrites, node);
    this.#fixups.newCallees(out.rewrites);
    return out;
  }

  /** Names reachable through the accessor chain from `site`, with the A function declaring each. */
  #reachable(site: Site): Map<string, FunctionInfo> {
    if (site.kind === 'function') return reachableEnclosing(site.fa);
    const out = new Map<string, FunctionInfo>();
    for (let p = site.unitA; p; p = p.parent) {
      for (const name of scopeVariables(p)) if (!out.has(name)) out.set(name, p);
    }
    return out;
  }

  #ref(r: Reference, site: Site, res: Resolution, into: Rewrite[], depth: number): void {
    const { A, B, m } = this.ctx;
    let v = r.resolved!;
    const id = r.identifier;
    const cell = this.cells.get(v);
    if (cell) {
      this.#cellRef(r, cell, site, res, into, depth);
      return;
    }
    // A class declaration's inner name is the same class as its outer binding.
    const outer = outerClassBinding(v);
    if (outer) v = outer;
    const newName = v.name;
    const where = declaringFunction(B, v);
    const oldName = runningName(this.ctx, where, newName);
    if (oldName !== newName) into.push({ start: id.start, end: id.end, text: oldName });
    if (where === null) {
      // Module level: the gate sees every module-level binding of the running module.
      const va = A.moduleScope.set.get(oldName);
      if (!va) {
        res.problems.push({ id: 'binding-missing', detail: newName });
        return;
      }
      if (!A.moduleCaptured.has(oldName) && !isFunctionDeclaration(va))
        res.liveEditNote ??= `the new code needs module variable ${oldName}, which no running closure retains`;
      return;
    }
    if (where === 'block') {
      if (v.scope.type === 'function-expression-name') {
        this.#selfRef(r, v, site, res, into);
        return;
      }
      if (v.scope.type === 'class') {
        res.problems.push({ id: 'binding-inner-name', detail: newName });
        return;
      }
      res.problems.push({
        id: 'binding-unreachable',
        detail: `${newName}, a block-scoped variable outside the code`,
      });
      return;
    }
    const whereA = m.toA.get(where);
    const inScope = whereA ? scopeVariables(whereA).includes(oldName) : false;
    if (!whereA || !inScope) {
      if (site.kind === 'function' && site.parentChanged && site.fb.parent === where && depth === 0) {
        if (!whereA || r.isWrite() || !this.#shadow(r, v, where, whereA, site, res, into))
          res.stale.push(oldName);
        return;
      }
      const literal = inlinableLiteral(B.source, v);
      if (literal !== null && !r.isWrite()) {
        into.push({ start: id.start, end: id.end, text: `(${literal})` });
        return;
      }
      res.problems.push({
        id: 'binding-unreachable',
        detail: `${newName} from ${whereA ? whereA.key : m.keyInA(where)}`,
      });
      return;
    }
    if (this.#reachable(site).get(oldName) !== whereA) {
      res.problems.push({ id: 'binding-shadowed', detail: `${oldName} from ${whereA.key}` });
      return;
    }
    const access = scopeAccess(this.ctx, id, oldName, r.isWrite(), r.isReadWrite());
    if (typeof access === 'string') res.problems.push({ id: 'write-unsupported', detail: access });
    else {
      const snapshot =
        depth === 0 &&
        site.kind === 'function' &&
        oldName === newName &&
        settledAtEntry(site.fb, id, v, A.scopeOf.get(whereA.node)?.set.get(oldName))
          ? oldName
          : undefined;
      for (const a of access) into.push({ ...a, redirectOnly: true, ...(snapshot ? { snapshot } : {}) });
    }
  }

  /**
   * A new variable of the changed parent, read by a closure the running code may have made before
   * the patch: read as a shadow variable of the running scope (shadows.ts), when its value can be
   * computed again there. Redirect engine only (LiveEdit keeps the closures' old contexts).
   */
  #shadow(
    r: Reference,
    v: Variable,
    where: FunctionInfo,
    whereA: FunctionInfo,
    site: Site,
    res: Resolution,
    into: Rewrite[],
  ): boolean {
    const plan = shadowable(this.ctx, v, where, whereA);
    if ('why' in plan) return false;
    const init = this.#shadowInit(plan.init, plan, site);
    if (init === null) return false;
    const id = r.identifier;
    // The initializer is part of the key: a later hotpatch level that computes it otherwise gets its own.
    const key = `${whereA.key}/${v.name}=${init}`;
    into.push({
      start: id.start,
      end: id.end,
      text: id.name,
      redirectText: shadowRead(key, init),
      redirectOnly: true,
    });
    res.liveEditNote ??= `closures made before the patch read the new variable ${v.name} of ${whereA.key} as a shadow variable`;
    res.shadowed ??= [];
    if (!res.shadowed.includes(v.name)) res.shadowed.push(v.name);
    return true;
  }

  /** An initializer's redirect text: kept variables through the accessor, others computed again inline. */
  #shadowInit(node: AstNode | null, plan: ShadowPlan, site: Site): string | null {
    if (!node) return 'void 0';
    const inner: Resolution = { rewrites: [], problems: [], stale: [], liveEditNote: null };
    for (const r of freeRefs(this.ctx.B, node)) {
      const v = r.resolved!;
      if (!plan.recompute.has(v)) {
        this.#ref(r, site, inner, inner.rewrites, 1);
        continue;
      }
      const text = this.#shadowInit(plan.recompute.get(v)!, plan, site);
      if (text === null) return null;
      inner.rewrites.push({
        start: r.identifier.start,
        end: r.identifier.end,
        text: `(${text})`,
        redirectOnly: true,
      });
    }
    if (inner.problems.length || inner.stale.length) return null;
    this.#fixups.shorthands(inner.rewrites, node);
    return rewriteRange(this.ctx.B.source, node.start, node.end, redirectRewrites(inner.rewrites));
  }

  /** The function's own name (named function expressions), or an enclosing one's. */
  #selfRef(r: Reference, v: Variable, site: Site, res: Resolution, into: Rewrite[]): void {
    const { m } = this.ctx;
    const named = this.ctx.B.functions.find((f) => f.node === (v.scope.block as unknown as AstNode));
    const namedA = named ? m.toA.get(named) : undefined;
    if (site.kind === 'function' && named === site.fb && namedA?.selfName === m.rename(v.name)) {
      if (r.isWrite()) {
        res.problems.push({ id: 'write-unsupported', detail: `the function's own name ${v.name}` });
        return;
      }
      // Recursion goes through the running function (its guard), which passes itself.
      into.push({ start: r.identifier.start, end: r.identifier.end, text: v.name, redirectText: SELF_PARAM });
      return;
    }
    if (namedA && scopeVariables(namedA).includes(m.rename(v.name)) && !r.isWrite()) {
      const access = scopeAccess(this.ctx, r.identifier, m.rename(v.name), false, false);
      if (typeof access !== 'string') {
        if (this.#reachable(site).get(m.rename(v.name)) === namedA) {
          for (const a of access) into.push({ ...a, redirectOnly: true });
          return;
        }
      }
    }
    res.problems.push({ id: 'binding-inner-name', detail: v.name });
  }

  #cellRef(r: Reference, cell: Cell, site: Site, res: Resolution, into: Rewrite[], depth: number): void {
    const { B } = this.ctx;
    const id = r.identifier;
    cell.used = true;
    const expr = this.cellExpr(cell, site, res, depth);
    // Our expression starts with '(': at the start of a statement after a line without a
    // semicolon it would call the previous line's value. A leading `0, ` keeps it a statement of
    // its own, and still an expression whose member can be assigned (`0, (cell)[i] = v`).
    const start = this.#statementStartOf(id.start);
    if (
      this.#starts.has(id.start) ||
      (r.isWrite() && this.#starts.has(parentOfIdentifier(B, id.start)?.start ?? -1))
    )
      into.push({ start, end: start, text: '0, ' });
    if (!r.isWrite()) {
      into.push({ start: id.start, end: id.end, text: expr.live, redirectText: expr.redirect });
      return;
    }
    if (!cell.mutable) {
      res.problems.push({ id: 'write-unsupported', detail: `${cell.name}, a changed declaration` });
      return;
    }
    const write = cellWrite(this.ctx, id.start, cell, expr);
    if (typeof write === 'string') res.problems.push({ id: 'write-unsupported', detail: write });
    else into.push(...write);
  }

  #statementStartOf(pos: number): number {
    if (this.#starts.has(pos)) return pos;
    const p = parentOfIdentifier(this.ctx.B, pos);
    return p && this.#starts.has(p.start) ? p.start : pos;
  }

  /**
   * How new code reads a cell. The redirect form asks the module's hotpatch state for it
   * (`__hotpatch$.g(key)`: created from its initializer on first read, or at apply); the LiveEdit
   * form, which has no migrations, carries the initializer inline, created on first use.
   */
  cellExpr(cell: Cell, site: Site, res: Resolution, depth = 0): { live: string; redirect: string } {
    const member = cell.member === undefined ? '' : `[${JSON.stringify(cell.member)}]`;
    const redirect = `${cellRead(cell.key, cell.shared)}${member}`;
    if (cell.importSpec !== undefined) return { live: redirect, redirect };
    const slot = cellExpression(cell.key, cell.shared);
    const key = slot.slice(`${GLOBAL}.c[`.length, -1); // the quoted key
    const wrap = (text: string) => `(${key} in ${GLOBAL}.c ? ${slot} : (${slot} = (${text})))${member}`;
    if (!cell.init) return { live: wrap(cell.initText ?? 'undefined'), redirect };
    if (depth > 8) {
      res.liveEditNote ??= 'new declarations refer to each other too deeply for the LiveEdit form';
      return { live: 'undefined', redirect };
    }
    // The LiveEdit form of a cell does not depend on where it is used: built once.
    const known = this.#live.get(cell);
    if (known) {
      res.liveEditNote ??= known.note;
      return { live: known.live, redirect };
    }
    const built = this.#liveForm(cell, site, depth, wrap);
    this.#live.set(cell, built);
    res.liveEditNote ??= built.note;
    return { live: built.live, redirect };
  }

  readonly #live = new Map<Cell, { live: string; note: string | null }>();

  #liveForm(
    cell: Cell,
    site: Site,
    depth: number,
    wrap: (text: string) => string,
  ): { live: string; note: string | null } {
    const res: Resolution = { rewrites: [], problems: [], stale: [], liveEditNote: null };
    // The LiveEdit form resolves the initializer from where it is used; what it cannot reach only
    // rules LiveEdit out (the redirect form resolves it once, in its own scope: cellInit).
    const inner: Rewrite[] = [];
    const innerRes: Resolution = { rewrites: inner, problems: [], stale: [], liveEditNote: null };
    for (const r of freeRefs(this.ctx.B, cell.init!)) this.#ref(r, site, innerRes, inner, depth + 1);
    this.#fixups.shorthands(inner, cell.init!);
    if (innerRes.problems.length || innerRes.stale.length)
      res.liveEditNote ??= `${cell.name} cannot be built inline where it is used (${innerRes.problems[0]?.detail ?? innerRes.stale.join(', ')})`;
    res.liveEditNote ??= innerRes.liveEditNote;
    // Initializers inlined into each other can grow without bound (each use carries a copy).
    const size = cell.init!.end - cell.init!.start + inner.reduce((n, r) => n + r.text.length, 0);
    if (size > LIVE_INLINE_LIMIT)
      return { live: 'undefined', note: `the LiveEdit form of ${cell.name} would be too large` };
    const live = wrap(rewriteRange(this.ctx.B.source, cell.init!.start, cell.init!.end, liveRewrites(inner)));
    return { live, note: res.liveEditNote };
  }

  /**
   * A cell's initializer for the redirect engine, its references resolved where it stands (the
   * module, or its run-once wrapper through that wrapper's accessor); other cells are read.
   */
  cellInit(cell: Cell, res: Resolution): string {
    if (!cell.init) return cell.initText ?? 'undefined';
    const unitA = cell.unit ? (this.ctx.m.toA.get(cell.unit) ?? null) : null;
    const site: Site = { kind: 'unit', unitB: cell.unit, unitA };
    const inner: Rewrite[] = [];
    for (const r of freeRefs(this.ctx.B, cell.init)) this.#ref(r, site, res, inner, 1);
    this.#fixups.shorthands(inner, cell.init);
    // A declaration's text is also a valid expression (function and class declarations become
    // named function/class expressions).
    return rewriteRange(this.ctx.B.source, cell.init.start, cell.init.end, redirectRewrites(inner));
  }
}

/**
 * A function declaration of an enclosing function, never reassigned (here and in the running
 * code), holds the same value from the moment that function is entered: before any closure of it
 * exists, and so before the replacement can run (at load after a restart too). The replacement
 * reads it once, at its entry, into a local of the same name, instead of through the scope accessor
 * at every use: V8's messages then name it as the running code does (`expandFormat(...) is not a
 * function`, not `__hp$sc(...)(...)`), and a call costs one accessor call per name, not per use.
 * Only in a block body (after its directives) and for references in it, not in parameter defaults.
 */
function settledAtEntry(
  fb: FunctionInfo,
  id: { start: number },
  v: Variable,
  va: Variable | undefined,
): boolean {
  if (fb.bodyIsExpression || id.start < fb.body.start) return false;
  const declared = (x: Variable | undefined) =>
    !!x && x.defs.length === 1 && x.defs[0]!.type === 'FunctionName' && !isReassigned(x);
  return declared(v) && declared(va);
}

/**
 * Turns the accessor reads marked `snapshot` into plain reads of a local the replacement declares
 * at its entry (settledAtEntry), unless another rewrite writes that name as text (a renamed
 * binding would then read our local).
 */
function snapshotAtEntry(fb: FunctionInfo, rewrites: Rewrite[]): Rewrite[] {
  const names = new Set(rewrites.flatMap((r) => (r.snapshot ? [r.snapshot] : [])));
  for (const r of rewrites) if (!r.snapshot && names.has(r.text)) names.delete(r.text);
  if (names.size === 0) return rewrites.map(({ snapshot: _, ...r }) => r);
  const at = directiveEnd(fb.body);
  const decls = [...names].map((n) => `${n} = ${SCOPE_PARAM}(${JSON.stringify(n)})`).join(', ');
  const entry: Rewrite = {
    start: at.pos,
    end: at.pos,
    text: '',
    redirectText: `${at.afterDirective ? ';' : ''} const ${decls};`,
    redirectOnly: true,
  };
  // First, so that it stays before other insertions at the same place (`0, ` before a statement).
  return [entry, ...rewrites.flatMap(({ snapshot, ...r }) => (snapshot && names.has(snapshot) ? [] : [r]))];
}
