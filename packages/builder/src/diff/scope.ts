import {
  type AstNode,
  childrenOf,
  type FunctionInfo,
  type ModuleAnalysis,
  type Reference,
  type Scope,
  type Variable,
} from '@hotpatch/instrument';

/** Scope queries over one analysed version of a file. */

const referenceMaps = new WeakMap<ModuleAnalysis, Map<number, Reference>>();

/**
 * Every identifier's reference, by the identifier's start (built once per analysis): how the
 * registration check, LoadCalls, Transience and rebuild find the binding an identifier names.
 */
export function referencesByStart(a: ModuleAnalysis): Map<number, Reference> {
  let refs = referenceMaps.get(a);
  if (!refs) {
    refs = new Map();
    for (const s of a.scopes.scopes) for (const r of s.references) refs.set(r.identifier.start, r);
    referenceMaps.set(a, refs);
  }
  return refs;
}

export function lineOf(source: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < source.length; i++) if (source.charCodeAt(i) === 10) n++;
  return n;
}

/** References made from inside `node` to bindings declared outside it. */
export function freeRefs(a: ModuleAnalysis, node: AstNode): Reference[] {
  const out: Reference[] = [];
  for (const s of a.scopes.scopes) {
    // A scope that ends before the node or starts after it holds no reference inside it.
    if (s.block.end <= node.start || s.block.start >= node.end) continue;
    for (const r of s.references) {
      const at = r.identifier.start;
      if (at < node.start || at >= node.end) continue;
      const v = r.resolved;
      if (!v) continue;
      // `arguments` of the function itself (or, for arrows, of the enclosing one: flagged apart).
      if (v.name === 'arguments' && v.defs.length === 0) continue;
      // Declared inside when its scope is (a function declaration's own name is not: it binds
      // outside; a function expression's own name is not either: a replacement is unnamed).
      const block = v.scope.block;
      const ownName = v.scope.type === 'function-expression-name' && block.start === node.start;
      if (block.start >= node.start && block.end <= node.end && !ownName) continue;
      out.push(r);
    }
  }
  return out;
}

/** Names used inside `node` that no scope of the file declares (globals). */
export function globalRefs(a: ModuleAnalysis, node: AstNode): string[] {
  const out = new Set<string>();
  for (const r of a.scopes.globalScope.through) {
    if (r.identifier.start >= node.start && r.identifier.end <= node.end) out.add(r.identifier.name);
  }
  return [...out];
}

/**
 * Where a variable lives: null for the module scope, the function whose scope declares it, or
 * 'block' (a block scope, a class's inner name, a function expression's own name).
 */
export function declaringFunction(a: ModuleAnalysis, v: Variable): FunctionInfo | null | 'block' {
  const scope: Scope = v.scope;
  if (scope.type === 'class' || scope.type === 'function-expression-name') return 'block';
  if (scope === a.moduleScope) return null;
  if (scope.type !== 'function') return 'block';
  return a.functions.find((f) => f.node === scope.variableScope.block) ?? 'block';
}

/** Written anywhere after its declaration (assignments, updates): running code changes it. */
export function isReassigned(v: Variable): boolean {
  return v.references.some((r) => r.isWrite() && !r.init);
}

export function innermostFunction(a: ModuleAnalysis, pos: number): FunctionInfo | null {
  let best: FunctionInfo | null = null;
  for (const f of a.functions) if (f.node.start <= pos && pos < f.node.end) best = f;
  return best;
}

/** The node whose direct child is the identifier at `idStart` (assignment, update, ...). */
export function parentOfIdentifier(a: ModuleAnalysis, idStart: number): AstNode | null {
  const path = pathToIdentifier(a, idStart);
  return path.length >= 2 ? (path[path.length - 2] ?? null) : null;
}

/** The nodes from the root down to the identifier at `idStart` (it last), or [] if there is none. */
function pathToIdentifier(a: ModuleAnalysis, idStart: number): AstNode[] {
  const path: AstNode[] = [];
  const visit = (n: AstNode): boolean => {
    if (n.start > idStart || n.end <= idStart) return false;
    path.push(n);
    if (n.type === 'Identifier' && n.start === idStart) return true;
    for (const c of childrenOf(n)) if (visit(c)) return true;
    path.pop();
    return false;
  };
  visit(a.ast);
  return path;
}

/** Methods that change the object they are called on (arrays, maps, sets, dates). */
const MUTATORS = new Set([
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
  'set',
  'add',
  'delete',
  'clear',
  'setTime',
  'setFullYear',
  'setMonth',
  'setDate',
  'setHours',
  'setMinutes',
  'setSeconds',
  'setMilliseconds',
]);
/** Functions that change the object passed first. */
const MUTATING_CALLS = new Set([
  'Object.assign',
  'Object.defineProperty',
  'Object.defineProperties',
  'Object.setPrototypeOf',
]);

const memberName = (m: AstNode): string | null => {
  const p = m.property as AstNode;
  if (!m.computed && p.type === 'Identifier') return p.name as string;
  return p.type === 'Literal' && typeof p.value === 'string' ? (p.value as string) : null;
};

/**
 * Whether code changes the value held by `v` in place, through the name: a property written,
 * updated or deleted (`t.n++`, `t.a.b = 1`, `delete t.x`), a mutating method called on it or on a
 * property of it (`list.push(x)`, `t.seen.add(k)`), or `Object.assign(t, …)`. What it reaches
 * through other names (passed to a function, stored elsewhere) is not seen here. Only code in
 * functions of `unit` (the module, or a run-once wrapper) counts: what runs after load.
 */
export function mutatedInPlace(a: ModuleAnalysis, v: Variable, unit: FunctionInfo | null): boolean {
  return v.references.some((r) => {
    // Code of the unit itself ran once, at load (what it built is rebuilt or refused elsewhere);
    // what runs later is in the functions it holds.
    if (r.init || innermostFunction(a, r.identifier.start)?.node === unit?.node) return false;
    const path = pathToIdentifier(a, r.identifier.start);
    let i = path.length - 1;
    let cur = path[i];
    const parent = path[i - 1];
    if (
      parent?.type === 'CallExpression' &&
      (parent.arguments as AstNode[])[0] === cur &&
      (parent.callee as AstNode).type === 'MemberExpression'
    ) {
      const callee = parent.callee as AstNode;
      const obj = callee.object as AstNode;
      if (obj.type === 'Identifier' && MUTATING_CALLS.has(`${obj.name}.${memberName(callee)}`)) return true;
    }
    while (path[i - 1]?.type === 'MemberExpression' && path[i - 1]?.object === cur) cur = path[--i];
    if (cur === path[path.length - 1]) return false; // the name itself, not a member of it
    const up = path[i - 1];
    if (!up || !cur) return false;
    if (up.type === 'AssignmentExpression' && up.left === cur) return true;
    if (up.type === 'UpdateExpression') return true;
    if (up.type === 'UnaryExpression' && up.operator === 'delete') return true;
    if (up.type === 'CallExpression' && up.callee === cur) return MUTATORS.has(memberName(cur) ?? '');
    return false;
  });
}

/** Starts of expression statements (ASI hazards for rewrites that begin with '('). */
export function statementStarts(a: ModuleAnalysis): Set<number> {
  const out = new Set<number>();
  const collect = (n: AstNode): void => {
    if (n.type === 'ExpressionStatement') out.add(n.start);
    for (const c of childrenOf(n)) collect(c);
  };
  collect(a.ast);
  return out;
}

/** The variable a class declaration's inner name stands for outside the class (same class object). */
export function outerClassBinding(v: Variable): Variable | null {
  if (v.scope.type !== 'class') return null;
  const cls = v.scope.block as unknown as AstNode;
  if (cls.type !== 'ClassDeclaration') return null;
  return v.scope.upper?.set.get(v.name) ?? null;
}
