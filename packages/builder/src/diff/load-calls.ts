import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  isFunctionNode,
  type ModuleAnalysis,
  type Reference,
} from '@hotpatch/instrument';

/**
 * Code that runs at load (a module's top level, run-once wrappers) and the functions it calls,
 * transitively. When the fix changes such a function, what it built at load in the running
 * process is the old version's: a declaration it initialised must get its new value (a cell), and
 * any other statement that called it built state the patch cannot rebuild.
 *
 * Calls are followed by name (a function declaration or a binding initialised with a function).
 * A callback passed to a call made at load runs then too when the callee calls it: a built-in
 * that does (forEach, map, replace, …), or a function of the module that calls that parameter.
 * Method calls on objects are not followed.
 */
export const CALLS_ITS_CALLBACK: ReadonlySet<string> = new Set([
  'forEach',
  'map',
  'filter',
  'reduce',
  'reduceRight',
  'some',
  'every',
  'find',
  'findIndex',
  'findLast',
  'findLastIndex',
  'flatMap',
  'sort',
  'replace',
  'replaceAll',
  'call',
  'apply',
  'from',
]);
export class LoadCalls {
  readonly #memo = new Map<FunctionInfo, Set<FunctionInfo>>();
  readonly #byNode = new Map<AstNode, FunctionInfo>();
  readonly #refs = new Map<number, Reference>();

  constructor(readonly a: ModuleAnalysis) {
    for (const f of a.functions) this.#byNode.set(f.node, f);
    for (const s of a.scopes.scopes) for (const r of s.references) this.#refs.set(r.identifier.start, r);
  }

  /** Changed functions `node` (code that runs at load) calls, directly or not. */
  reached(node: AstNode, changed: Set<FunctionInfo>): FunctionInfo[] {
    const out = new Set<FunctionInfo>();
    for (const f of this.#calls(node, new Set()))
      for (const g of this.#closure(f)) if (changed.has(g)) out.add(g);
    return [...out];
  }

  /** Functions a function calls, itself included, transitively. */
  #closure(f: FunctionInfo): Set<FunctionInfo> {
    const known = this.#memo.get(f);
    if (known) return known;
    const out = new Set<FunctionInfo>([f]);
    this.#memo.set(f, out); // recursion ends here
    for (const g of this.#calls(f.body, new Set([f.node]))) for (const h of this.#closure(g)) out.add(h);
    return out;
  }

  /** Functions called by name in `node`, not looking into functions defined in it unless they run now. */
  #calls(node: AstNode, skip: Set<AstNode>): FunctionInfo[] {
    const out: FunctionInfo[] = [];
    const visit = (n: AstNode, runsNow: boolean): void => {
      if (isFunctionNode(n) && !skip.has(n)) {
        const f = this.#byNode.get(n);
        if (!runsNow && !f?.once) return;
      }
      if (n.type === 'CallExpression' || n.type === 'NewExpression') {
        const callee = n.callee as AstNode;
        const target = this.#resolve(callee);
        if (target) out.push(target);
        visit(callee, false);
        const method =
          callee.type === 'MemberExpression' && !callee.computed
            ? ((callee.property as AstNode).name as string)
            : null;
        (n.arguments as AstNode[]).forEach((arg, i) => {
          const runs =
            (method !== null && CALLS_ITS_CALLBACK.has(method)) ||
            (target !== null && this.#callsParam(target, i));
          visit(arg, runs);
        });
        return;
      }
      for (const c of childrenOf(n)) visit(c, false);
    };
    visit(node, true);
    return out;
  }

  /** Does `f` call its parameter `i` itself (`iteratee(…)`, `fn.call(…)`)? */
  #callsParam(f: FunctionInfo, i: number): boolean {
    const name = f.simpleParams ? f.paramNames[i] : undefined;
    if (!name) return false;
    const found = (n: AstNode): boolean => {
      if (isFunctionNode(n) && n !== f.node) return false;
      if (n.type === 'CallExpression') {
        let c = n.callee as AstNode;
        if (
          c.type === 'MemberExpression' &&
          ['call', 'apply'].includes((c.property as AstNode).name as string)
        )
          c = c.object as AstNode;
        if (c.type === 'Identifier' && c.name === name) return true;
      }
      return childrenOf(n).some(found);
    };
    return found(f.node);
  }

  /** The function a callee names, when it is a binding of a function. */
  #resolve(callee: AstNode): FunctionInfo | null {
    if (callee.type !== 'Identifier') return null;
    const def = this.#refs.get(callee.start)?.resolved?.defs[0];
    if (!def) return null;
    const node = def.node as unknown as AstNode;
    if (def.type === 'FunctionName') return this.#byNode.get(node) ?? null;
    if (def.type === 'Variable' && node.init && isFunctionNode(node.init as AstNode))
      return this.#byNode.get(node.init as AstNode) ?? null;
    return null;
  }
}
