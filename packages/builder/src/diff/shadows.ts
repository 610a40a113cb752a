import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  isFunctionNode,
  scopeVariables,
  type Variable,
} from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { declaringFunction, freeRefs, isReassigned } from './scope.js';
import { isPureExpr } from './units.js';

/**
 * Shadow variables: a variable the fix adds to a function whose closures outlive it (a factory's
 * options read by the handler it returns: body-parser's `var depth = … opts.depth …`). Closures
 * the running code made before the patch have no such variable; like kpatch's and livepatch's
 * shadow variables (klp_shadow_get_or_alloc), the patched code keeps one per running scope
 * instance, made on first use.
 *
 * The value must be the one the fixed code would have given that scope: the builder accepts a
 * variable only when its initializer can be computed again, later, from the running scope with
 * the same result —
 * - the declaration is the variable's only write and nothing can leave the function before it
 *   runs (no return, throw, await or yield ahead of it), so every scope of the fixed code has it;
 * - the initializer has no effect: literals, operators, property reads, calls of pure built-ins
 *   (`Number(…)`), and reads of variables that are never reassigned — parameters and earlier
 *   variables of the same function that the running scope keeps (its accessor lists them), and
 *   module-level bindings. Property reads assume the objects read (an options object) were not
 *   changed since the closure was made.
 *
 * Returns the initializer (null: `undefined`) or why the variable cannot be shadowed.
 */
export interface ShadowPlan {
  init: AstNode | null;
  /**
   * Variables of the same function the running scope does not keep (`var opts = options || {}`)
   * that the initializer reads: computed again from their own initializers, by the same rules.
   */
  recompute: Map<Variable, AstNode | null>;
}

export function shadowable(
  ctx: DiffContext,
  v: Variable,
  where: FunctionInfo,
  whereA: FunctionInfo,
  depth = 0,
): ShadowPlan | { why: string } {
  if (scopeVariables(whereA).length === 0) return { why: 'the running scope has no accessor' };
  if (v.defs.length !== 1 || v.defs[0]!.type !== 'Variable') return { why: 'not a plain variable' };
  const declarator = v.defs[0]!.node as unknown as AstNode;
  const declaration = v.defs[0]!.parent as unknown as AstNode;
  if ((declarator.id as AstNode).type !== 'Identifier') return { why: 'destructured' };
  if (isReassigned(v)) return { why: 'assigned after its declaration' };
  if (!((where.body.body as AstNode[] | undefined) ?? []).includes(declaration))
    return { why: 'not declared at the top of the function body' };
  if (exitsBefore(where.body, declaration.start)) return { why: 'the function may stop before it' };
  const init = (declarator.init as AstNode | null) ?? null;
  const recompute = new Map<Variable, AstNode | null>();
  if (!init) return { init: null, recompute };
  const names = new Set<string>();
  for (const r of freeRefs(ctx.B, init)) {
    const v2 = r.resolved!;
    let why = stableRead(ctx, v2, where, whereA, declaration.start);
    if (why === NOT_KEPT) {
      const inner = depth < 4 ? shadowable(ctx, v2, where, whereA, depth + 1) : { why: 'too deep' };
      if ('why' in inner) why = `which the running scope does not keep (${inner.why})`;
      else {
        why = null;
        recompute.set(v2, inner.init);
        for (const [k, n] of inner.recompute) recompute.set(k, n);
      }
    }
    if (why) return { why: `its value reads ${r.identifier.name}, ${why}` };
    names.add(r.identifier.name);
  }
  if (!isPureExpr(init, names)) return { why: 'its value is not computed without effects' };
  return { init, recompute };
}

const NOT_KEPT = 'which the running scope does not keep';

/** Why reading `v2` later could give another value than at the declaration, or null. */
function stableRead(
  ctx: DiffContext,
  v2: Variable,
  where: FunctionInfo,
  whereA: FunctionInfo,
  before: number,
): string | null {
  if (isReassigned(v2)) return 'which is reassigned';
  const home = declaringFunction(ctx.B, v2);
  if (home === null) {
    const va = ctx.A.moduleScope.set.get(ctx.m.rename(v2.name));
    return !va
      ? 'which the running module does not have'
      : isReassigned(va)
        ? 'which running code reassigns'
        : null;
  }
  if (home !== where) return 'a variable of another function';
  const old = ctx.m.renameIn(where, v2.name);
  const def = v2.defs[0];
  if (def && def.type !== 'Parameter' && (def.name as unknown as AstNode).start > before)
    return 'declared after it';
  if (!scopeVariables(whereA).includes(old)) return NOT_KEPT;
  const va = ctx.A.scopeOf.get(whereA.node)?.set.get(old);
  if (!va || isReassigned(va)) return 'which running code reassigns';
  return null;
}

/** A return, throw, await or yield of `body` itself (not of nested functions) before `pos`. */
function exitsBefore(body: AstNode, pos: number): boolean {
  const exits = new Set(['ReturnStatement', 'ThrowStatement', 'AwaitExpression', 'YieldExpression']);
  let found = false;
  const visit = (n: AstNode): void => {
    if (found || n.start >= pos || isFunctionNode(n)) return;
    if (exits.has(n.type)) {
      found = true;
      return;
    }
    for (const c of childrenOf(n)) visit(c);
  };
  for (const c of childrenOf(body)) visit(c);
  return found;
}
