import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  type ModuleAnalysis,
  type Reference,
} from '@hotpatch/instrument';
import { CALLS_ITS_CALLBACK } from './load-calls.js';
import { referencesByStart } from './scope.js';

/**
 * Closures that do not outlive the call of the function that made them: callbacks handed to
 * something that calls them back and lets go (array iteration, `replace`, promise reactions,
 * timers), immediately-invoked functions, and local functions only ever called by name. When the
 * function around one changes, its replacement makes them anew from the fixed code; the ones the
 * old code made die with the calls still running it. Judged on the running (old) code.
 */
const CALLS_BACK_AND_LETS_GO: ReadonlySet<string> = new Set([
  // The built-ins load-calls.ts knows call their callback before they return, toSorted (which
  // does too, and load-calls.ts does not list yet), then the ones that call it once later.
  ...CALLS_ITS_CALLBACK,
  'toSorted',
  'then',
  'catch',
  'finally',
  'nextTick',
]);
const CALLED_ONCE = new Set(['setTimeout', 'setImmediate', 'queueMicrotask', 'Promise']);

export class Transience {
  readonly #parents = new Map<AstNode, AstNode>();
  readonly #refs: Map<number, Reference>;
  readonly #byNode: Map<AstNode, FunctionInfo>;
  /** Parameters being judged (`index:param`): a hand-on back to one is assumed to keep nothing. */
  readonly #visiting = new Set<string>();

  constructor(readonly a: ModuleAnalysis) {
    const visit = (n: AstNode): void => {
      for (const c of childrenOf(n)) {
        this.#parents.set(c, n);
        visit(c);
      }
    };
    visit(a.ast);
    this.#refs = referencesByStart(a);
    this.#byNode = new Map(a.functions.map((f) => [f.node, f]));
  }

  /** Does every closure of `f` (a function of this analysis) die with the call that made it? */
  isTransient(f: FunctionInfo): boolean {
    const parent = this.#parents.get(f.node);
    if (!parent) return false;
    if (parent.type === 'CallExpression' || parent.type === 'NewExpression') {
      if (parent.callee === f.node) return true; // an IIFE
      if (!(parent.arguments as AstNode[]).includes(f.node)) return false;
      const callee = parent.callee as AstNode;
      if (callee.type === 'Identifier') {
        if (CALLED_ONCE.has(callee.name as string)) return true;
        // A function of this code that only ever calls that parameter (never keeps it).
        const target = this.#functionNamed(callee);
        const i = (parent.arguments as AstNode[]).indexOf(f.node);
        return target !== null && this.#onlyCalls(target, i);
      }
      if (callee.type === 'MemberExpression' && !callee.computed)
        return CALLS_BACK_AND_LETS_GO.has((callee.property as AstNode).name as string);
      return false;
    }
    // A local function only ever called by name.
    const binding =
      f.node.type === 'FunctionDeclaration'
        ? (f.node.id as AstNode)
        : parent.type === 'VariableDeclarator' &&
            parent.init === f.node &&
            (parent.id as AstNode).type === 'Identifier'
          ? (parent.id as AstNode)
          : null;
    if (!binding || !f.parent) return false;
    const v = this.#refs.get(binding.start)?.resolved ?? this.#variableAt(binding);
    if (!v) return false;
    return v.references.every((r) => {
      if (r.init) return true;
      const at = this.#parents.get(r.identifier as unknown as AstNode);
      return (at?.type === 'CallExpression' && at.callee === (r.identifier as unknown)) || false;
    });
  }

  /** The function a callee names (a declaration, or a binding initialised with a function). */
  #functionNamed(callee: AstNode): FunctionInfo | null {
    const def = this.#refs.get(callee.start)?.resolved?.defs[0];
    if (!def) return null;
    const node = def.node as unknown as AstNode;
    const fnNode =
      def.type === 'FunctionName' ? node : def.type === 'Variable' ? (node.init as AstNode | null) : null;
    return this.a.functions.find((x) => x.node === fnNode) ?? null;
  }

  /**
   * Is parameter `i` of `f` only ever called (`cb(…)`, `cb.call(…)`) or handed on to a parameter
   * of a function of this code that is itself only called (path-to-regexp's recursive `flatten`
   * passes its callback to itself), never stored? A use inside a closure counts when that closure
   * dies with the call too. A cycle of such hand-ons is assumed to keep nothing: anything that
   * keeps the callback is a use of another kind somewhere on it.
   */
  #onlyCalls(f: FunctionInfo, i: number): boolean {
    const key = `${f.index}:${i}`;
    if (this.#visiting.has(key)) return true;
    const param = (f.node.params as AstNode[])[i];
    if (!param || param.type !== 'Identifier') return false;
    const v = this.a.scopeOf.get(f.node)?.set.get(param.name as string);
    if (!v) return false;
    this.#visiting.add(key);
    try {
      return v.references.every((r) => {
        const id = r.identifier as unknown as AstNode;
        return (
          this.#calledOrHandedOn(id) && this.#closuresBetween(id, f.node).every((g) => this.isTransient(g))
        );
      });
    } finally {
      this.#visiting.delete(key);
    }
  }

  /** `id(…)`, `id.call(…)`, `id.apply(…)`, or `g(…, id, …)` where g only calls that parameter. */
  #calledOrHandedOn(id: AstNode): boolean {
    const at = this.#parents.get(id);
    if (at?.type === 'CallExpression' && at.callee === id) return true;
    const call = at ? this.#parents.get(at) : undefined;
    if (
      at?.type === 'MemberExpression' &&
      !at.computed &&
      ['call', 'apply'].includes((at.property as AstNode).name as string) &&
      call?.type === 'CallExpression' &&
      call.callee === at
    )
      return true;
    if (at?.type !== 'CallExpression' || (at.callee as AstNode).type !== 'Identifier') return false;
    const target = this.#functionNamed(at.callee as AstNode);
    return target !== null && this.#onlyCalls(target, (at.arguments as AstNode[]).indexOf(id));
  }

  /** Functions between a node and the function `outer` around it, innermost first. */
  #closuresBetween(node: AstNode, outer: AstNode): FunctionInfo[] {
    const out: FunctionInfo[] = [];
    for (let n = this.#parents.get(node); n && n !== outer; n = this.#parents.get(n)) {
      const f = this.#byNode.get(n);
      if (f) out.push(f);
    }
    return out;
  }

  #variableAt(id: AstNode) {
    for (const s of this.a.scopes.scopes)
      for (const v of s.variables) if (v.identifiers.some((i) => i.start === id.start)) return v;
    return null;
  }
}
