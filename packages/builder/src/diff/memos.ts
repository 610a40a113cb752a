import { type AstNode, childrenOf, type FunctionInfo, type Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import type { UnitPair } from './module-level.js';
import { innermostFunction } from './scope.js';

/**
 * Module state a function builds once and keeps (`let table; function get() { if (!table) {
 * table = build(); } return table; }`). When the fix changes that function, the running process
 * already holds what the old code built: the patch resets the variable at apply, so that the next
 * call builds it again with the new code (revert puts the old value back). Recognised when the
 * variable starts empty, only that function assigns it, and it tests the variable first.
 */
export interface MemoReset {
  name: string;
  /** The run-once function declaring it (fixed version); null at module level. */
  unit: FunctionInfo | null;
  /** The value it starts with: `undefined` or `null`. */
  initial: string;
  /** The function that builds it, in the running version's naming. */
  builder: string;
}

export function memoResets(ctx: DiffContext, pairs: UnitPair[], changed: Set<FunctionInfo>): MemoReset[] {
  const { A, m } = ctx;
  const out: MemoReset[] = [];
  const changedA = new Set([...changed].map((fb) => m.toA.get(fb)).filter((f): f is FunctionInfo => !!f));
  for (const pair of pairs) {
    const scope = pair.ua.fn ? A.scopeOf.get(pair.ua.fn.node) : A.moduleScope;
    for (const v of scope?.variables ?? []) {
      const initial = emptyStart(v);
      if (initial === null) continue;
      const writers = new Set(
        v.references
          .filter((r) => r.isWrite() && !r.init)
          .map((r) => innermostFunction(A, r.identifier.start)),
      );
      if (writers.size !== 1) continue;
      const [builder] = writers;
      if (!builder || !changedA.has(builder) || !testsFirst(builder, v)) continue;
      const unit = pair.ub.fn;
      out.push({ name: v.name, unit, initial, builder: builder.key });
    }
  }
  return out;
}

/** `let x;`, `var x = null`, `let x = undefined`: what the variable starts as, or null when it starts with a value. */
function emptyStart(v: Variable): string | null {
  if (v.defs.length !== 1 || v.defs[0]!.type !== 'Variable') return null;
  const decl = v.defs[0]!.parent as unknown as AstNode | undefined;
  if (!decl || decl.kind === 'const') return null;
  const declarator = v.defs[0]!.node as unknown as AstNode;
  if ((declarator.id as AstNode).type !== 'Identifier') return null;
  const init = declarator.init as AstNode | null;
  if (!init) return 'undefined';
  if (init.type === 'Literal' && init.value === null) return 'null';
  if (init.type === 'Identifier' && init.name === 'undefined') return 'undefined';
  if (init.type === 'UnaryExpression' && init.operator === 'void') return 'undefined';
  return null;
}

/** Does `f` test the variable (`if (!x)`, `x ||`, `x ?? …`, `x == null`) before it builds it? */
function testsFirst(f: FunctionInfo, v: Variable): boolean {
  const reads = new Set(
    v.references.filter((r) => r.isRead() && !r.isWrite()).map((r) => r.identifier.start),
  );
  const isRead = (n: AstNode) => n.type === 'Identifier' && reads.has(n.start);
  const found = (n: AstNode): boolean => {
    if ((n.type === 'IfStatement' || n.type === 'ConditionalExpression') && mentions(n.test as AstNode))
      return true;
    if (n.type === 'LogicalExpression' && isRead(n.left as AstNode)) return true;
    if (n.type === 'AssignmentExpression' && ['||=', '??='].includes(n.operator as string))
      return (n.left as AstNode).type === 'Identifier' && (n.left as AstNode).name === v.name;
    return childrenOf(n).some(found);
  };
  const mentions = (n: AstNode): boolean => isRead(n) || childrenOf(n).some(mentions);
  return found(f.body);
}
