import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  guardShape,
  SLOTS,
  type Variable,
} from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import type { ChangedFunction } from './functions.js';
import type { Rewrite } from './rewrites.js';
import { isReassigned, referencesByStart } from './scope.js';

/**
 * Direct calls: a function the fix gives new parameters is still reached through its running
 * function object, whose guard forwards only the old ones (svelte's `escape(value, is_attr)`).
 * Callers that pass the new ones are, in the fixed code, code the patch replaces: there, a plain
 * call `escape(v, true)` becomes `(__hp$s?.[K] ?? escape)(v, true)`: the replacement in the
 * callee's slot, called as the fixed code calls it (same `this`: none), with every argument.
 * Callers the patch does not replace keep calling through the guard; they pass what the running
 * code always passed.
 */
export interface DirectCalls {
  /** Callees to call directly, by the start of the call in the fixed source. */
  byCall: Map<number, DirectCall>;
}

interface DirectCall {
  /** The callee identifier's range in the fixed source. */
  start: number;
  end: number;
  /** Its running name, and the callee's slot in the running module. */
  name: string;
  slot: number;
}

export function directCalls(ctx: DiffContext, changed: Map<FunctionInfo, ChangedFunction>): DirectCalls {
  const { B, m } = ctx;
  const byCall = new Map<number, DirectCall>();
  // Callees: changed functions whose slot holds a replacement taking exactly their parameters.
  const callees = new Map<Variable, { fb: FunctionInfo; index: number }>();
  for (const fb of changed.keys()) {
    const fa = m.toA.get(fb);
    if (!fa || (fb.parent && !fb.parent.once)) continue;
    const shape = guardShape(fa);
    if (shape.call !== 'params' || shape.self || shape.scope || shape.privates.length || !fa.simpleParams)
      continue;
    const v = bindingOf(ctx, fb);
    if (v && !isReassigned(v)) callees.set(v, { fb, index: fa.index });
  }
  if (callees.size === 0) return { byCall };
  const replaced = [...changed.keys()];
  const refs = referencesByStart(B);
  const visit = (node: AstNode): void => {
    if (node.type === 'CallExpression' && !node.optional) {
      const callee = node.callee as AstNode;
      const target =
        callee.type === 'Identifier' ? callees.get(refs.get(callee.start)?.resolved as Variable) : undefined;
      const inside = replaced.some((f) => f.node.start <= node.start && node.end <= f.node.end);
      if (target && inside) {
        const name = m.rename(callee.name as string);
        byCall.set(node.start, { start: callee.start, end: callee.end, name, slot: target.index });
      }
    }
    for (const c of childrenOf(node)) visit(c);
  };
  visit(B.ast);
  return { byCall };
}

/** The variable a module-level (or run-once wrapper level) function is bound to: its declaration's name, or `const f = function …`. */
function bindingOf(ctx: DiffContext, fb: FunctionInfo): Variable | null {
  const { B } = ctx;
  const id = fb.kind === 'declaration' ? (fb.node.id as AstNode | null) : declaratorIdOf(B.ast, fb.node);
  const scope = fb.parent ? B.scopeOf.get(fb.parent.node) : B.moduleScope;
  const v = id && scope?.set.get(id.name as string);
  if (!v || v.defs.length !== 1) return null;
  return (v.defs[0]!.name as unknown as AstNode).start === id.start ? v : null;
}

/** `const f = function () {}` / `let f = () => {}`: the declarator's identifier for that function. */
function declaratorIdOf(root: AstNode, fn: AstNode): AstNode | null {
  let found: AstNode | null = null;
  const visit = (n: AstNode): void => {
    if (found) return;
    if (n.type === 'VariableDeclarator' && n.init === fn && (n.id as AstNode).type === 'Identifier')
      found = n.id as AstNode;
    else for (const c of childrenOf(n)) visit(c);
  };
  visit(root);
  return found;
}

/**
 * The direct calls inside a replaced function: in the redirect form the callee becomes the slot,
 * falling back to what the callee was rewritten to (a scope accessor read, a running name); the
 * LiveEdit form keeps the plain call (LiveEdit gives the running function its new parameters).
 */
export function withDirectCalls(rewrites: Rewrite[], direct: DirectCalls, node: AstNode): void {
  for (const d of direct.byCall.values()) {
    if (d.start < node.start || d.end > node.end) continue;
    const at = rewrites.filter((x) => x.start === d.start && x.end === d.end);
    const live = at.find((x) => !x.redirectOnly);
    const redirect = at.find((x) => x.redirectOnly) ?? live;
    const fallback = redirect
      ? redirect.redirectOnly
        ? redirect.text
        : (redirect.redirectText ?? redirect.text)
      : d.name;
    for (const x of at) rewrites.splice(rewrites.indexOf(x), 1);
    if (live) rewrites.push({ ...live, liveOnly: true });
    rewrites.push({
      start: d.start,
      end: d.end,
      text: `(${SLOTS}?.[${d.slot}] ?? ${fallback})`,
      redirectOnly: true,
    });
  }
}
