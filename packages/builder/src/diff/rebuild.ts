import { type AstNode, childrenOf, isFunctionNode, type Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { isReassigned, referencesByStart } from './scope.js';
import { calleeName, requiredSpec } from './units.js';

/**
 * Load-time code that only fills values the patch creates anew (`for (…) { table[k] = … }` after
 * `const table = { … }` changed): it can run again at apply on the new value, because nothing the
 * running process holds is touched. True when every write goes to a cell (or to a variable the
 * statement itself declares), and every call is one that cannot reach running state: a method of
 * a cell or of a literal, or a built-in that does not mutate its arguments (or mutates a cell).
 */
const BUILTIN_NAMESPACES = new Set([
  'Object',
  'Array',
  'String',
  'Number',
  'Boolean',
  'Math',
  'JSON',
  'Reflect',
  'RegExp',
  'Symbol',
]);
const BUILTIN_FUNCTIONS = new Set([
  'String',
  'Number',
  'Boolean',
  'RegExp',
  'Symbol',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'encodeURIComponent',
  'decodeURIComponent',
  'encodeURI',
  'decodeURI',
]);
/** Built-in constructors that make a new object and touch nothing else. */
const PURE_CONSTRUCTORS = new Set([
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'Array',
  'Object',
  'RegExp',
  'Date',
  'URL',
  'URLSearchParams',
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'TextEncoder',
  'TextDecoder',
]);
/** Built-ins that change their first argument. */
const MUTATES_FIRST = new Set([
  'Object.assign',
  'Object.defineProperty',
  'Object.defineProperties',
  'Object.setPrototypeOf',
  'Object.freeze',
  'Reflect.set',
  'Reflect.defineProperty',
  'Reflect.deleteProperty',
  'Reflect.setPrototypeOf',
]);

export function fillsOnlyCells(ctx: DiffContext, stmt: AstNode, isCell: (v: Variable) => boolean): boolean {
  return otherStateFilled(ctx, stmt, isCell)?.length === 0;
}

/**
 * The module variables (not cells) whose insides the statement fills, when that is all that keeps
 * it from running again (making them cells too would let it); null when something else does (a
 * call that could reach running state, a write to another binding).
 */
export function otherStateFilled(
  ctx: DiffContext,
  stmt: AstNode,
  isCell: (v: Variable) => boolean,
): Variable[] | null {
  const filled = new Set<Variable>();
  const refs = referencesByStart(ctx.B);
  // Only identifiers inside the statement are looked up.
  const varAt = (id: AstNode): Variable | null | undefined => refs.get(id.start)?.resolved;
  const own = (v: Variable | null | undefined) =>
    !!v && v.defs.length > 0 && v.defs.every((d) => d.name.start >= stmt.start && d.name.end <= stmt.end);
  const rootOf = (n: AstNode): AstNode => {
    let r = n;
    while (r.type === 'MemberExpression' || r.type === 'ChainExpression')
      r = (r.type === 'ChainExpression' ? r.expression : r.object) as AstNode;
    return r;
  };
  /** A target the statement may change: a cell's insides, or its own variables (else noted when it is a module object's insides). */
  const mayChange = (target: AstNode): boolean => {
    if (target.type === 'Identifier') {
      const v = varAt(target);
      return own(v) || (!!v && isCell(v));
    }
    if (target.type !== 'MemberExpression') return false;
    const root = rootOf(target);
    if (root.type !== 'Identifier') return false;
    const v = varAt(root);
    if (!v) return false;
    if (isCell(v) || own(v)) return true;
    if (v.scope.type !== 'module' && v.scope.block.type !== 'Program' && v.scope.type !== 'function')
      return false;
    filled.add(v);
    return true;
  };
  const safeValue = (n: AstNode): boolean => {
    const root = rootOf(n);
    if (root.type === 'Literal' || root.type === 'TemplateLiteral' || root.type === 'ArrayExpression')
      return true;
    if (root.type !== 'Identifier') return false;
    const v = varAt(root);
    if (v === null || v === undefined) return BUILTIN_NAMESPACES.has(root.name as string); // a global
    return isCell(v) || own(v);
  };
  const ok = (n: AstNode): boolean => {
    if (isFunctionNode(n)) return false; // a closure could escape into running state
    if (n.type === 'AssignmentExpression' && !mayChange(n.left as AstNode)) return false;
    if (n.type === 'UpdateExpression' && !mayChange(n.argument as AstNode)) return false;
    if (n.type === 'UnaryExpression' && n.operator === 'delete' && !mayChange(n.argument as AstNode))
      return false;
    if (n.type === 'NewExpression') {
      const name = calleeName(n.callee as AstNode);
      if (!name || (!BUILTIN_FUNCTIONS.has(name) && !PURE_CONSTRUCTORS.has(name))) return false;
    }
    if (n.type === 'CallExpression') {
      const callee = n.callee as AstNode;
      const name = calleeName(callee);
      if (callee.type === 'Identifier') {
        const v = varAt(callee);
        if (v ? !isPureNodeFunction(v) : !BUILTIN_FUNCTIONS.has(callee.name as string)) return false;
      } else if (callee.type === 'MemberExpression') {
        if (!safeValue(callee.object as AstNode)) return false;
        if (name && MUTATES_FIRST.has(name)) {
          const first = (n.arguments as AstNode[])[0];
          if (
            !first ||
            !(first.type === 'Identifier' ? own(varAt(first)) || isCellId(first) : mayChange(first))
          )
            return false;
        }
      } else return false;
    }
    return childrenOf(n).every(ok);
  };
  const isCellId = (id: AstNode) => {
    const v = varAt(id);
    return !!v && isCell(v);
  };
  return ok(stmt) ? [...filled] : null;
}

/**
 * Node's own modules every function of which only computes or throws (no state, no I/O, no change
 * to its arguments): `assert(x)`, `path.join(…)`, `url.parse(…)`, `querystring.escape(…)`. Not
 * `util`: `util.inherits` changes its first argument. A module binding bound to one of them, to
 * one of its functions or by destructuring (`const { join } = require('path')`), may be called by
 * code that runs again.
 */
const PURE_NODE_MODULES = new Set(['assert', 'assert/strict', 'path', 'url', 'querystring']);

function isPureNodeFunction(v: Variable): boolean {
  if (v.defs.length !== 1 || isReassigned(v)) return false;
  const def = v.defs[0]!;
  const spec = (n: AstNode | null | undefined): string | null =>
    !n ? null : n.type === 'MemberExpression' ? spec(n.object as AstNode) : requiredSpec(n);
  let from: string | null = null;
  if (def.type === 'Variable') from = spec((def.node as unknown as AstNode).init as AstNode | null);
  else if (def.type === 'ImportBinding') {
    const source = (def.parent as unknown as AstNode | null)?.source as AstNode | undefined;
    from = typeof source?.value === 'string' ? source.value : null;
  }
  return from !== null && PURE_NODE_MODULES.has(from.replace(/^node:/, ''));
}
