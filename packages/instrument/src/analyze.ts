import * as acorn from 'acorn';
import { analyze as analyzeScopes } from 'eslint-scope';
import { KEYS } from 'eslint-visitor-keys';
import type { Scope, ScopeManager, Variable } from './scope-types.js';

/**
 * Source analysis shared by the builder and the runtime. Both must name functions identically
 * (the bundle refers to functions by key, the runtime finds them by key in the code it loaded),
 * so this file is the single definition of the function-key scheme (KEY_SCHEME in @hotpatch/core).
 */

export type SourceType = 'commonjs' | 'module';

// acorn's AST as a loose shape: we walk generically by visitor keys.
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

export type FunctionKind =
  | 'declaration'
  | 'expression'
  | 'arrow'
  | 'method'
  | 'getter'
  | 'setter'
  | 'constructor';

export interface FunctionInfo {
  /** Position in source order (pre-order): the redirect engine's slot number. */
  index: number;
  /** Stable name: enclosing keys joined by '/', e.g. `outer/inner`, `Cookie#parse`, `module.exports`. */
  key: string;
  node: AstNode;
  parent: FunctionInfo | null;
  kind: FunctionKind;
  isArrow: boolean;
  isAsync: boolean;
  isGenerator: boolean;
  /** Constructor of a class with an `extends` clause: `this` is unusable before super(). */
  derived: boolean;
  /** The class node, for constructors (its heritage and fields matter to a replacement). */
  classNode: AstNode | null;
  /** The class a method, getter, setter or constructor is defined in. */
  ownerClass: AstNode | null;
  /** Runs once per module load: an immediately-invoked function or a UMD factory at module level. */
  once: boolean;
  /** Identifiers bound by the parameter list, in order. */
  paramNames: string[];
  simpleParams: boolean;
  /** Range of the parameter list text, from the first to the last parameter ([n, n) when empty). */
  paramsRange: [number, number];
  body: AstNode;
  bodyIsExpression: boolean;
  /** Own uses, arrows included (they share `this`/`arguments` with their enclosing function). */
  usesArguments: boolean;
  usesThis: boolean;
  usesSuper: boolean;
  usesNewTarget: boolean;
  /** Variables declared in this function's own scope that nested functions reference. */
  captured: string[];
  /** Every variable declared in this function's own scope (parameters included, not `arguments`). */
  declared: string[];
  /**
   * A named function expression's own name, when its body sees it (no parameter or variable of
   * the same name): what the name means inside the function is the function itself.
   */
  selfName: string | null;
  /** Functions directly nested in this one. */
  children: FunctionInfo[];
}

export interface ModuleAnalysis {
  source: string;
  sourceType: SourceType;
  ast: AstNode;
  tokens: acorn.Token[];
  functions: FunctionInfo[];
  byKey: Map<string, FunctionInfo>;
  /** Module-level (top of file) functions and statements. */
  topLevel: FunctionInfo[];
  /** Module-scope variables referenced from inside some function. */
  moduleCaptured: Set<string>;
  scopes: ScopeManager;
  /** Function scope (eslint-scope) per function node, and the module scope. */
  scopeOf: Map<AstNode, Scope>;
  moduleScope: Scope;
}

const ECMA = 2022 as const;

export function parse(source: string, sourceType: SourceType, tokens?: acorn.Token[]): AstNode {
  return acorn.parse(source, {
    ecmaVersion: 'latest',
    sourceType: sourceType === 'module' ? 'module' : 'script',
    allowHashBang: true,
    allowReturnOutsideFunction: sourceType === 'commonjs',
    ranges: true,
    ...(tokens ? { onToken: tokens } : {}),
  }) as unknown as AstNode;
}

/** Guesses CommonJS vs ESM when the loader does not say: ESM syntax wins. */
export function detectSourceType(source: string, hint?: SourceType): SourceType {
  if (hint) return hint;
  try {
    parse(source, 'commonjs');
    return 'commonjs';
  } catch {
    return 'module';
  }
}

export function isFunctionNode(node: AstNode): boolean {
  return (
    node.type === 'FunctionDeclaration' ||
    node.type === 'FunctionExpression' ||
    node.type === 'ArrowFunctionExpression'
  );
}

/** Children of a node in source order, by ESTree visitor keys. */
export function childrenOf(node: AstNode): AstNode[] {
  const keys = KEYS[node.type] ?? [];
  const out: AstNode[] = [];
  for (const key of keys) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const v of value) if (v && typeof v === 'object' && 'type' in v) out.push(v as AstNode);
    } else if (value && typeof value === 'object' && 'type' in value) {
      out.push(value as AstNode);
    }
  }
  return out;
}

function memberName(node: AstNode): string | null {
  if (node.type === 'Identifier') return node.name as string;
  if (node.type === 'ThisExpression') return 'this';
  if (node.type === 'MemberExpression') {
    const obj = memberName(node.object as AstNode);
    const prop = node.property as AstNode;
    let propName: string | null = null;
    if (!node.computed && prop.type === 'Identifier') propName = prop.name as string;
    else if (prop.type === 'Literal' && typeof prop.value === 'string') propName = prop.value;
    else if (prop.type === 'PrivateIdentifier') propName = `#${prop.name as string}`;
    if (obj === null || propName === null) return null;
    if (obj.endsWith('.prototype')) return `${obj.slice(0, -'.prototype'.length)}#${propName}`;
    return `${obj}.${propName}`;
  }
  return null;
}

function propertyKeyName(node: AstNode, computed: boolean): string {
  if (!computed && node.type === 'Identifier') return node.name as string;
  if (node.type === 'PrivateIdentifier') return `#${node.name as string}`;
  if (node.type === 'Literal') return String(node.value);
  return '[computed]';
}

function bindingNames(pattern: AstNode, out: string[] = []): string[] {
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name as string);
      break;
    case 'AssignmentPattern':
      bindingNames(pattern.left as AstNode, out);
      break;
    case 'RestElement':
      bindingNames(pattern.argument as AstNode, out);
      break;
    case 'ArrayPattern':
      for (const el of pattern.elements as (AstNode | null)[]) if (el) bindingNames(el, out);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties as AstNode[]) {
        bindingNames(p.type === 'RestElement' ? p : (p.value as AstNode), out);
      }
      break;
  }
  return out;
}

export { bindingNames };

interface WalkFrame {
  node: AstNode;
  parent: AstNode | null;
}

/** Name a function gets from where it stands (declaration, assignment, property, call argument...). */
function baseName(
  fn: AstNode,
  stack: WalkFrame[],
  className: (cls: AstNode, s: WalkFrame[]) => string,
): string {
  const parent = stack[stack.length - 1]?.node ?? null;
  if (fn.type === 'FunctionDeclaration' && fn.id) return (fn.id as AstNode).name as string;
  if (parent) {
    if (parent.type === 'MethodDefinition' || (parent.type === 'PropertyDefinition' && parent.value === fn)) {
      const cls = stack[stack.length - 3]?.node; // MethodDefinition -> ClassBody -> Class
      const clsName = cls ? className(cls, stack.slice(0, -3)) : '<class>';
      const key = propertyKeyName(parent.key as AstNode, parent.computed as boolean);
      const sep = parent.static ? '.' : '#';
      if (parent.kind === 'constructor') return `${clsName}#constructor`;
      if (parent.kind === 'get' || parent.kind === 'set') return `${clsName}${sep}${parent.kind}:${key}`;
      return `${clsName}${sep}${key}`;
    }
    if (parent.type === 'Property' && parent.value === fn) {
      const key = propertyKeyName(parent.key as AstNode, parent.computed as boolean);
      const obj = stack[stack.length - 2]?.node; // Property -> ObjectExpression
      const objName = obj
        ? (objectName(obj, stack.slice(0, -2)) ?? objectPlace(obj, stack.slice(0, -2)))
        : null;
      const prefix = parent.kind === 'get' || parent.kind === 'set' ? `${parent.kind}:` : '';
      return objName ? `${objName}.${prefix}${key}` : `${prefix}${key}`;
    }
  }
  if (fn.id) return (fn.id as AstNode).name as string;
  const assigned = assignedName(fn, stack);
  if (assigned) return assigned;
  if (parent && (parent.type === 'CallExpression' || parent.type === 'NewExpression')) {
    if (parent.callee === fn) return '<iife>';
    const callee = memberName(parent.callee as AstNode);
    const i = (parent.arguments as AstNode[]).indexOf(fn);
    const short = callee ? callee.split(/[.#]/).pop() : 'call';
    return `${short}:arg${i}`;
  }
  if (
    parent?.type === 'ReturnStatement' ||
    (parent?.type === 'ArrowFunctionExpression' && parent.body === fn)
  ) {
    return '<return>';
  }
  return '<anon>';
}

/** Name from `var x = ...`, `a.b = ...`, `x = ...`, looking through parentheses, `||`, `,` and ternaries. */
function assignedName(node: AstNode, stack: WalkFrame[]): string | null {
  let child = node;
  for (let i = stack.length - 1; i >= 0; i--) {
    const p = stack[i]!.node;
    if (p.type === 'VariableDeclarator' && p.init === child && (p.id as AstNode).type === 'Identifier') {
      return (p.id as AstNode).name as string;
    }
    if (p.type === 'AssignmentExpression' && p.right === child) return memberName(p.left as AstNode);
    if (p.type === 'AssignmentPattern' && p.right === child && (p.left as AstNode).type === 'Identifier') {
      return (p.left as AstNode).name as string;
    }
    if (p.type === 'PropertyDefinition' && p.value === child) return null;
    if (
      p.type === 'LogicalExpression' ||
      p.type === 'ConditionalExpression' ||
      p.type === 'SequenceExpression'
    ) {
      child = p;
      continue;
    }
    if (p.type === 'ParenthesizedExpression' || p.type === 'ChainExpression') {
      child = p;
      continue;
    }
    return null;
  }
  return null;
}

function objectName(obj: AstNode, stack: WalkFrame[]): string | null {
  return assignedName(obj, stack);
}

/**
 * Where an unnamed object literal stands, so that its functions are not named like declarations
 * of the same name: `__export(target, { f: () => f })` gives `__export:arg1.f`, not `f`.
 */
function objectPlace(obj: AstNode, stack: WalkFrame[]): string | null {
  const parent = stack[stack.length - 1]?.node;
  if (!parent) return null;
  if (parent.type === 'CallExpression' || parent.type === 'NewExpression') {
    const i = (parent.arguments as AstNode[]).indexOf(obj);
    if (i === -1) return null;
    const callee = memberName(parent.callee as AstNode);
    return `${callee ? callee.split(/[.#]/).pop() : 'call'}:arg${i}`;
  }
  if (parent.type === 'ReturnStatement' || (parent.type === 'ArrowFunctionExpression' && parent.body === obj))
    return '<return>';
  return null;
}

/** Is `fn` run once where it stands: an IIFE (also via .call/.apply) or a UMD factory argument? */
function isOnce(fn: AstNode, stack: WalkFrame[]): boolean {
  let child = fn;
  let i = stack.length - 1;
  while (
    i >= 0 &&
    (stack[i]!.node.type === 'ParenthesizedExpression' || stack[i]!.node.type === 'SequenceExpression')
  ) {
    child = stack[i]!.node;
    i--;
  }
  const p = stack[i]?.node;
  if (!p) return false;
  if (p.type === 'CallExpression' && p.callee === child) return true;
  if (
    p.type === 'MemberExpression' &&
    p.object === child &&
    !p.computed &&
    ['call', 'apply'].includes(((p.property as AstNode).name as string) ?? '')
  ) {
    const call = stack[i - 1]?.node;
    return call?.type === 'CallExpression' && call.callee === p;
  }
  // UMD: (function (root, factory) { ... })(this, function () { ... })
  if (p.type === 'CallExpression' && (p.arguments as AstNode[]).includes(child)) {
    let callee = p.callee as AstNode;
    while (callee.type === 'ParenthesizedExpression') callee = callee.expression as AstNode;
    return callee.type === 'FunctionExpression' || callee.type === 'ArrowFunctionExpression';
  }
  return false;
}

function classDisplayName(cls: AstNode, stack: WalkFrame[]): string {
  if (cls.id) return (cls.id as AstNode).name as string;
  return assignedName(cls, stack) ?? '<class>';
}

export interface AnalyzeOptions {
  sourceType: SourceType;
}

export function analyzeModule(source: string, options: AnalyzeOptions): ModuleAnalysis {
  const tokens: acorn.Token[] = [];
  const ast = parse(source, options.sourceType, tokens);
  const functions: FunctionInfo[] = [];
  const topLevel: FunctionInfo[] = [];
  const used = new Map<string, number>();

  const stack: WalkFrame[] = [];
  const fnStack: FunctionInfo[] = [];

  const visit = (node: AstNode, parent: AstNode | null): void => {
    let info: FunctionInfo | null = null;
    if (isFunctionNode(node)) {
      const owner = fnStack[fnStack.length - 1] ?? null;
      const base = baseName(node, stack, classDisplayName);
      const full = owner ? `${owner.key}/${base}` : base;
      const n = (used.get(full) ?? 0) + 1;
      used.set(full, n);
      const key = n === 1 ? full : `${full}@${n}`;
      const parentNode = stack[stack.length - 1]?.node;
      const methodLike =
        parentNode &&
        (parentNode.type === 'MethodDefinition' || (parentNode.type === 'Property' && parentNode.method));
      const accessor =
        parentNode &&
        (parentNode.type === 'MethodDefinition' || parentNode.type === 'Property') &&
        (parentNode.kind === 'get' || parentNode.kind === 'set')
          ? (parentNode.kind as 'get' | 'set')
          : null;
      const isCtor = parentNode?.type === 'MethodDefinition' && parentNode.kind === 'constructor';
      const ownerClass =
        parentNode?.type === 'MethodDefinition' ? (stack[stack.length - 3]?.node ?? null) : null;
      const classNode = isCtor ? ownerClass : null;
      const params = node.params as AstNode[];
      info = {
        index: functions.length,
        key,
        node,
        parent: owner,
        kind: isCtor
          ? 'constructor'
          : accessor === 'get'
            ? 'getter'
            : accessor === 'set'
              ? 'setter'
              : methodLike
                ? 'method'
                : node.type === 'ArrowFunctionExpression'
                  ? 'arrow'
                  : node.type === 'FunctionDeclaration'
                    ? 'declaration'
                    : 'expression',
        isArrow: node.type === 'ArrowFunctionExpression',
        isAsync: Boolean(node.async),
        isGenerator: Boolean(node.generator),
        derived: Boolean(isCtor && classNode && classNode.superClass),
        classNode,
        ownerClass,
        // Once per module load: an IIFE or UMD factory at module level (or in another such one).
        once: isOnce(node, stack) && (owner === null || owner.once),
        paramNames: params.flatMap((p) => bindingNames(p)),
        simpleParams: params.every((p) => p.type === 'Identifier'),
        paramsRange: params.length
          ? [params[0]!.start, params[params.length - 1]!.end]
          : [node.start, node.start],
        body: node.body as AstNode,
        bodyIsExpression: Boolean(node.expression) || (node.body as AstNode).type !== 'BlockStatement',
        usesArguments: false,
        usesThis: false,
        usesSuper: false,
        usesNewTarget: false,
        captured: [],
        declared: [],
        selfName: null,
        children: [],
      };
      functions.push(info);
      if (owner) owner.children.push(info);
      else topLevel.push(info);
      fnStack.push(info);
    } else {
      const owner = fnStack[fnStack.length - 1];
      if (owner) markUse(node, fnStack);
    }
    stack.push({ node, parent });
    for (const child of childrenOf(node)) visit(child, node);
    stack.pop();
    if (info) fnStack.pop();
  };
  visit(ast, null);

  const scopes = analyzeScopes(ast, {
    ecmaVersion: ECMA,
    sourceType: options.sourceType === 'module' ? 'module' : 'script',
    nodejsScope: options.sourceType === 'commonjs',
    childVisitorKeys: KEYS,
  }) as ScopeManager;
  const scopeOf = new Map<AstNode, Scope>();
  let moduleScope: Scope = scopes.globalScope;
  for (const scope of scopes.scopes) {
    if (scope.type === 'function' && scope.block.type !== 'Program')
      scopeOf.set(scope.block as AstNode, scope);
    if (scope.type === 'module' || (scope.type === 'function' && scope.block.type === 'Program'))
      moduleScope = scope;
  }
  const moduleCaptured = new Set<string>();
  for (const v of moduleScope.variables) if (isCaptured(v)) moduleCaptured.add(v.name);
  const nameScopes = new Map<AstNode, Scope>();
  for (const scope of scopes.scopes)
    if (scope.type === 'function-expression-name') nameScopes.set(scope.block as AstNode, scope);
  for (const info of functions) {
    const scope = scopeOf.get(info.node);
    if (!scope) continue;
    const own = scope.variables.filter((v) => v.name !== 'arguments');
    info.captured = own.filter(isCaptured).map((v) => v.name);
    info.declared = own.map((v) => v.name);
    const id = info.node.type === 'FunctionExpression' ? (info.node.id as AstNode | null) : null;
    if (id && !scope.set.has(id.name as string)) {
      info.selfName = id.name as string;
      // Closures inside it that call it by name reach it through its accessor.
      const selfVar = nameScopes.get(info.node)?.set.get(info.selfName);
      if (selfVar?.references.some((r) => r.from.variableScope !== scope)) {
        info.captured.push(info.selfName);
        info.declared.push(info.selfName);
      }
    }
  }

  const byKey = new Map(functions.map((f) => [f.key, f]));
  return {
    source,
    sourceType: options.sourceType,
    ast,
    tokens,
    functions,
    byKey,
    topLevel,
    moduleCaptured,
    scopes,
    scopeOf,
    moduleScope,
  };
}

function markUse(node: AstNode, fnStack: FunctionInfo[]): void {
  // `this`, `arguments`, `super` and `new.target` belong to the nearest non-arrow function;
  // every arrow in between uses them too.
  const flag =
    node.type === 'ThisExpression'
      ? 'usesThis'
      : node.type === 'Super'
        ? 'usesSuper'
        : node.type === 'MetaProperty' && (node.meta as AstNode).name === 'new'
          ? 'usesNewTarget'
          : node.type === 'Identifier' && node.name === 'arguments'
            ? 'usesArguments'
            : null;
  if (!flag) return;
  for (let i = fnStack.length - 1; i >= 0; i--) {
    const f = fnStack[i]!;
    f[flag] = true;
    if (!f.isArrow) break;
  }
}

/** A variable is context-allocated (captured) when a nested function refers to it. */
export function isCaptured(v: Variable): boolean {
  const home = v.scope.variableScope;
  return v.references.some((r) => r.from.variableScope !== home);
}

/** Tokens inside [start, end), skipping the given nested ranges, as comparable text. */
export function tokenTexts(
  analysis: Pick<ModuleAnalysis, 'tokens' | 'source'>,
  start: number,
  end: number,
  skip: Array<{ start: number; end: number; label: string }> = [],
  rename?: (name: string) => string,
): string[] {
  const out: string[] = [];
  let s = 0;
  const sorted = [...skip].sort((a, b) => a.start - b.start);
  for (const tok of analysis.tokens) {
    if (tok.start < start) continue;
    if (tok.end > end) break;
    if (tok.type.label === 'eof') break; // not text: a file that ends without a newline has it at its last statement's end
    while (s < sorted.length && sorted[s]!.end <= tok.start) s++;
    const hole = sorted[s];
    if (hole && tok.start >= hole.start && tok.end <= hole.end) {
      if (tok.start === hole.start) out.push(hole.label);
      continue;
    }
    const text = analysis.source.slice(tok.start, tok.end);
    out.push(rename && tok.type.label === 'name' ? rename(text) : text);
  }
  return out;
}

/** First token index at or after `pos` (binary search). */
export function tokenAt(tokens: acorn.Token[], pos: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.start < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
