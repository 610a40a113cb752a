import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  isFunctionNode,
  type ModuleAnalysis,
  type Reference,
} from '@hotpatch/instrument';
import { referencesByStart } from './scope.js';
import { requiredSpec } from './units.js';

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
/** What code that runs at load calls: functions of this module, and changed sibling files. */
interface Reach {
  fns: Set<FunctionInfo>;
  /** Paths of sibling files the fix changes whose functions are called (through require/import). */
  files: Set<string>;
}

export class LoadCalls {
  readonly #memo = new Map<FunctionInfo, Reach>();
  readonly #byNode = new Map<AstNode, FunctionInfo>();
  readonly #refs: Map<number, Reference>;

  /**
   * `changedSibling(spec, name)`: the path of the changed package file a relative specifier
   * names, if calling its export `name` (`module`: the module itself, `*`: unknown) may run
   * changed code.
   */
  constructor(
    readonly a: ModuleAnalysis,
    readonly changedSibling: (spec: string, name: string) => string | null = () => null,
  ) {
    for (const f of a.functions) this.#byNode.set(f.node, f);
    this.#refs = referencesByStart(a);
  }

  /**
   * Changed functions `node` (code that runs at load) calls, directly or not. `units`: run-once
   * functions whose statements are examined on their own (diff/module-level.ts unit pairs), not
   * followed from here — for a statement whose value nobody keeps (an IIFE or UMD wrapper call).
   */
  reached(
    node: AstNode,
    changed: Set<FunctionInfo>,
    units: ReadonlySet<AstNode> = new Set(),
  ): FunctionInfo[] {
    const out = new Set<FunctionInfo>();
    for (const f of this.#calls(node, units).fns)
      for (const g of this.#closure(f).fns) if (changed.has(g)) out.add(g);
    return [...out];
  }

  /**
   * Changed sibling files whose functions `node` calls at load, directly or through functions of
   * this module (`const Y = util.make()`): what it computed then is the running version's.
   */
  reachedFiles(node: AstNode, units: ReadonlySet<AstNode> = new Set()): string[] {
    const direct = this.#calls(node, units);
    const out = new Set(direct.files);
    for (const f of direct.fns) for (const file of this.#closure(f).files) out.add(file);
    return [...out];
  }

  /** Functions a function calls, itself included, transitively, and the changed files they call into. */
  #closure(f: FunctionInfo): Reach {
    const known = this.#memo.get(f);
    if (known) return known;
    const out: Reach = { fns: new Set([f]), files: new Set() };
    this.#memo.set(f, out); // recursion ends here
    const direct = this.#calls(f.body, new Set(), f.node);
    for (const file of direct.files) out.files.add(file);
    for (const g of direct.fns) {
      const reach = this.#closure(g);
      for (const h of reach.fns) out.fns.add(h);
      for (const file of reach.files) out.files.add(file);
    }
    return out;
  }

  /**
   * Functions called by name in `node`, not looking into functions defined in it unless they run
   * now, nor into `units`; `own`: the function whose body `node` is.
   */
  #calls(
    node: AstNode,
    units: ReadonlySet<AstNode>,
    own?: AstNode,
  ): { fns: FunctionInfo[]; files: string[] } {
    const fns: FunctionInfo[] = [];
    const files: string[] = [];
    const visit = (n: AstNode, runsNow: boolean): void => {
      if (isFunctionNode(n) && n !== own) {
        if (units.has(n)) return;
        const f = this.#byNode.get(n);
        if (!runsNow && !f?.once) return;
      }
      if (n.type === 'CallExpression' || n.type === 'NewExpression') {
        const callee = n.callee as AstNode;
        const target = this.#resolve(callee);
        if (target) fns.push(target);
        const file = this.#siblingOf(callee);
        if (file) files.push(file);
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
    return { fns, files };
  }

  /**
   * The changed sibling file a callee comes from, when what it calls there may have changed:
   * `require('./x')(…)`, `util.make()` or `make()` with `util`/`make` bound to `require('./x')`
   * (or a property of it), or imported from './x'.
   */
  #siblingOf(callee: AstNode): string | null {
    const chain: AstNode[] = [];
    let root = callee;
    while (root.type === 'MemberExpression' || root.type === 'ChainExpression') {
      if (root.type === 'MemberExpression') chain.unshift(root);
      root = (root.type === 'ChainExpression' ? root.expression : root.object) as AstNode;
    }
    const bound =
      requiredSpec(root) !== null ? { spec: requiredSpec(root)!, name: null } : this.#boundSpec(root);
    if (!bound) return null;
    // The export called: the binding's own name, else the first property read off the module.
    let name = bound.name;
    if (name === null) {
      const first = chain[0];
      if (!first) name = 'module';
      else name = first.computed ? '*' : ((first.property as AstNode).name as string);
    }
    return this.changedSibling(bound.spec, name);
  }

  /**
   * The specifier an identifier's binding was initialised from (require or import), and the
   * export it names (null for the module object itself).
   */
  #boundSpec(id: AstNode): { spec: string; name: string | null } | null {
    if (id.type !== 'Identifier') return null;
    const def = this.#refs.get(id.start)?.resolved?.defs[0];
    if (!def) return null;
    if (def.type === 'ImportBinding') {
      const decl = def.parent as unknown as AstNode | null;
      const source = decl?.source as AstNode | undefined;
      if (typeof source?.value !== 'string') return null;
      const s = def.node as unknown as AstNode;
      if (s.type === 'ImportNamespaceSpecifier') return { spec: source.value, name: null };
      if (s.type === 'ImportDefaultSpecifier') return { spec: source.value, name: 'module' };
      const imported = s.imported as AstNode;
      return { spec: source.value, name: (imported.name ?? String(imported.value)) as string };
    }
    if (def.type !== 'Variable') return null;
    const declarator = def.node as unknown as AstNode;
    let init = declarator.init as AstNode | null;
    let name: string | null = null;
    const pattern = declarator.id as AstNode;
    if (pattern.type === 'ObjectPattern') {
      const prop = (pattern.properties as AstNode[]).find(
        (p) =>
          p.type === 'Property' &&
          (p.value as AstNode).type === 'Identifier' &&
          (p.value as AstNode).name === id.name,
      );
      name =
        prop && !prop.computed
          ? (((prop.key as AstNode).name ?? String((prop.key as AstNode).value)) as string)
          : '*';
    }
    if (init?.type === 'MemberExpression' && name === null)
      name = init.computed ? '*' : ((init.property as AstNode).name as string);
    while (init && (init.type === 'MemberExpression' || init.type === 'ChainExpression'))
      init = (init.type === 'ChainExpression' ? init.expression : init.object) as AstNode;
    const spec = init ? requiredSpec(init) : null;
    return spec === null ? null : { spec, name };
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
