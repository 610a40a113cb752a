import type * as acorn from 'acorn';
import { analyze as analyzeScopes } from 'eslint-scope';
import { KEYS } from 'eslint-visitor-keys';
import { type AstNode, bindingNames, childrenOf, isFunctionNode, parse, type SourceType } from './ast.js';
import { baseName, classDisplayName, isOnce, type WalkFrame } from './function-names.js';
import { lazyOnceHelpers } from './lazy-once.js';
import type { Scope, ScopeManager, Variable } from './scope-types.js';

/** Prefix of a class's private accessor (convention.ts; here to keep the import graph one-way). */
const PRIVATE_ACCESSOR = '#__hp$p';

/**
 * Source analysis shared by the builder and the runtime. Both must name functions identically
 * (the bundle refers to functions by key, the runtime finds them by key in the code it loaded),
 * so this file and function-names.ts are the single definition of the function-key scheme
 * (KEY_SCHEME in @hotpatch/core). Parsing is in ast.ts, token comparisons in tokens.ts.
 */

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
  /**
   * The classes around this function that declare private names (`#x`) and whose own name this
   * function sees, innermost first: its guard hands each one's private accessor to a replacement,
   * which cannot name `#x` itself (it is compiled outside the class body; convention.ts).
   */
  privateClasses: PrivateClass[];
}

/** A class that declares private names, with the name its body sees it by. */
export interface PrivateClass {
  node: AstNode;
  /**
   * The name the class's methods reach it by: its own (a declaration or a named class expression),
   * or, for an anonymous class expression that initializes a variable never assigned again
   * (esbuild's `var k = class { … }`), that variable's.
   */
  binding: string;
  /** For a variable's name: its declarator (the variable must be that one, not a shadowing one). */
  declarator?: AstNode;
  /** The private names it declares, without `#`, in source order. */
  names: string[];
  /**
   * Its private accessor's name (`#__hp$p0`, …): one per class of the module, since an inner
   * class's private name hides an outer class's of the same name.
   */
  accessor: string;
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
  /** Classes some function's guard hands a private accessor of (instrument.ts declares it). */
  privateClasses: PrivateClass[];
}

const ECMA = 2022 as const;

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
  const classesSeen = new Map<AstNode, PrivateClass | null>();
  const lazy = lazyOnceHelpers(ast);

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
        once: isOnce(node, stack, lazy) && (owner === null || owner.once),
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
        privateClasses: enclosingPrivateClasses(stack, classesSeen),
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

  const handed = new Set<PrivateClass>();
  for (const info of functions) {
    info.privateClasses = info.privateClasses.filter((c) => !shadowedIn(scopeOf.get(info.node), c));
    for (const c of info.privateClasses) handed.add(c);
  }
  [...handed].forEach((c, i) => {
    c.accessor = `${PRIVATE_ACCESSOR}${i}`;
  });

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
    privateClasses: [...handed],
  };
}

/** The named classes around the walk's position that declare private names, innermost first. */
function enclosingPrivateClasses(
  stack: WalkFrame[],
  seen: Map<AstNode, PrivateClass | null>,
): PrivateClass[] {
  const out: PrivateClass[] = [];
  for (let i = stack.length - 1; i >= 0; i--) {
    const node = stack[i]!.node;
    if (node.type !== 'ClassDeclaration' && node.type !== 'ClassExpression') continue;
    if (!seen.has(node)) seen.set(node, privateClassOf(node, stack[i]!.parent));
    const c = seen.get(node);
    if (c) out.push(c);
  }
  return out;
}

function privateClassOf(node: AstNode, parent: AstNode | null): PrivateClass | null {
  const id = node.id as AstNode | null;
  const names: string[] = [];
  for (const el of (node.body as AstNode).body as AstNode[]) {
    const key = el.key as AstNode | undefined;
    if (key?.type === 'PrivateIdentifier' && !names.includes(key.name as string))
      names.push(key.name as string);
  }
  if (!names.length) return null;
  if (id) return { node, binding: id.name as string, names, accessor: '' };
  // An anonymous class is reached through the variable it initializes, which holds it only once
  // the class is made: no code of the class may run before (a static block or initializer).
  const target =
    parent?.type === 'VariableDeclarator' && parent.init === node ? (parent.id as AstNode) : null;
  if (target?.type !== 'Identifier' || !staticInert(node)) return null;
  return { node, binding: target.name as string, declarator: parent!, names, accessor: '' };
}

/** Whether making the class runs none of its own code (no static block, static values inert). */
function staticInert(cls: AstNode): boolean {
  const inert = (n: AstNode | null | undefined): boolean => {
    if (!n) return true;
    switch (n.type) {
      case 'Literal':
      case 'Identifier':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return true;
      case 'TemplateLiteral':
        return (n.expressions as AstNode[]).length === 0;
      case 'UnaryExpression':
        return n.operator !== 'delete' && inert(n.argument as AstNode);
      case 'ArrayExpression':
        return (n.elements as Array<AstNode | null>).every((e) => e?.type !== 'SpreadElement' && inert(e));
      case 'ObjectExpression':
        return (n.properties as AstNode[]).every(
          (p) => p.type === 'Property' && !p.computed && inert(p.value as AstNode),
        );
      default:
        return false;
    }
  };
  return ((cls.body as AstNode).body as AstNode[]).every(
    (el) =>
      el.type !== 'StaticBlock' &&
      !(el.type === 'PropertyDefinition' && el.static && !inert(el.value as AstNode | null)),
  );
}

/**
 * Whether something between a function's own scope and the class (a parameter, a variable, a
 * function's name) hides the class's name where the guard names it.
 */
function shadowedIn(scope: Scope | undefined, c: PrivateClass): boolean {
  for (let s: Scope | null | undefined = scope; s; s = s.upper) {
    if (!c.declarator && s.type === 'class' && (s.block as unknown) === c.node) return false;
    const v = s.set.get(c.binding);
    if (!v) continue;
    // The class's variable: declared once, by that declarator, and never assigned again.
    return !(
      c.declarator &&
      v.defs.length === 1 &&
      (v.defs[0]!.node as unknown) === c.declarator &&
      !v.references.some((r) => r.isWrite() && !r.init)
    );
  }
  return true;
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
