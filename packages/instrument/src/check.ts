import { analyze as analyzeScopes } from 'eslint-scope';
import { KEYS } from 'eslint-visitor-keys';
import { type AstNode, childrenOf, parse } from './ast.js';
import {
  CONVENTION_VERSION,
  GLOBAL,
  type ModuleTable,
  PRIVATE_PARAM_PREFIX,
  RESERVED_PREFIX,
  replacementParams,
  SCOPE_PARAM,
  SELF_PARAM,
  SLOTS,
  tableReachable,
} from './convention.js';
import type { ScopeManager } from './scope-types.js';

/** A replacement as a bundle carries it (see FunctionPatch in @hotpatch/core). */
export interface ReplacementSpec {
  key: string;
  call: string;
  params: string[];
  source: string;
  /** Globals the fixed code names itself (see FunctionPatch.globals). */
  globals?: string[];
}

/** Bindings a CommonJS module's code sees that no declaration in it makes (the module wrapper's). */
const CJS_WRAPPER = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * Checks, without running it, that a replacement can run where the guard of its function calls it
 * in this module: the function exists, the guard passes what the replacement takes (self, scope
 * accessor, parameters, in that order), every name the replacement asks the scope accessor for is
 * on the accessor chain handed to it, and every other free name is a module-level binding of this
 * module or a global. Returns null when it can run, else why not.
 *
 * The builder runs it against the baseline it built for, the runtime against the module it
 * loaded, before any slot is filled: a replacement that passes cannot fail with a ReferenceError or
 * TypeError from the plumbing itself.
 */
export function checkReplacement(
  table: ModuleTable,
  fp: ReplacementSpec,
  isGlobal: (name: string) => boolean,
): string | null {
  if (table.convention !== CONVENTION_VERSION)
    return `module instrumented with calling convention ${table.convention}, replacement built for ${CONVENTION_VERSION}`;
  const index = table.functions.findIndex((f) => f.key === fp.key);
  if (index === -1) return `no function ${fp.key} in the running code`;
  const shape = table.functions[index]!;
  if (shape.call !== fp.call)
    return `${fp.key} is called as ${shape.call}, the replacement expects ${fp.call}`;
  const expected = replacementParams(shape);
  const lead = expected.slice(0, expected.length - shape.params.length);
  if (shape.call !== 'construct' && !(shape.call === 'apply' && lead.length === 0)) {
    // It may take more parameters than the guard passes (new ones, which get their defaults).
    if (fp.params.length < expected.length || lead.some((p, i) => fp.params[i] !== p))
      return `${fp.key}: the guard passes (${expected.join(', ')}), the replacement takes (${fp.params.join(', ')})`;
  }

  let expr: AstNode;
  try {
    const program = parse(`(${fp.source});`, 'commonjs');
    expr = (program.body as AstNode[])[0]!.expression as AstNode;
  } catch (e) {
    const loc = (e as { loc?: { line: number; column: number } }).loc;
    const line = loc ? `(${fp.source}`.split('\n')[loc.line - 1] : undefined;
    const near =
      line === undefined
        ? ''
        : `, near \`${line.slice(Math.max(0, loc!.column - 40), loc!.column + 40).trim()}\``;
    return `${fp.key}: replacement does not parse (${(e as Error).message}${near})`;
  }
  while (expr.type === 'ParenthesizedExpression') expr = expr.expression as AstNode;
  if (fp.call === 'construct') {
    if (expr.type !== 'ClassExpression') return `${fp.key}: replacement of a constructor is not a class`;
  } else {
    const fn = replacementFunction(expr);
    if (!fn) return `${fp.key}: replacement is not a function expression`;
    if (fn.id) return `${fp.key}: replacement must not be named (its name would shadow the running function)`;
    const names = (fn.params as AstNode[]).map(paramName);
    if (fp.params.length > 0 && names.join(',') !== fp.params.join(','))
      return `${fp.key}: replacement takes (${names.join(', ')}), the bundle says (${fp.params.join(', ')})`;
  }

  const reachable = tableReachable(table, index);
  const moduleVars = new Set(table.moduleVars);
  if (table.sourceType === 'commonjs') for (const n of CJS_WRAPPER) moduleVars.add(n);
  const problem = freeNames(expr, (name) => {
    if (name === GLOBAL) return null;
    // The convention's parameters are bound by the replacement itself when the guard passes them.
    if (name === SCOPE_PARAM || name === SELF_PARAM || name.startsWith(PRIVATE_PARAM_PREFIX))
      return `uses ${name}, which the guard does not pass`;
    if (name === SLOTS) return null; // direct calls: checked below
    if (name.startsWith(RESERVED_PREFIX)) return `uses ${name}, which is not part of the calling convention`;
    if (moduleVars.has(name) || isGlobal(name) || fp.globals?.includes(name)) return null;
    return `needs ${name}, which is neither a module-level binding of the running module nor a global`;
  });
  if (problem) return `${fp.key}: ${problem}`;
  const slots = directSlotProblem(expr, table);
  if (slots) return `${fp.key}: ${slots}`;

  const privates = privateProblem(expr, table, shape);
  if (privates) return `${fp.key}: ${privates}`;

  for (const call of accessorCalls(expr)) {
    if (!shape.scope) return `${fp.key}: uses the scope accessor, but the guard passes none`;
    if (call === null) return `${fp.key}: asks the scope accessor for a name that is not a string literal`;
    if (!reachable.has(call))
      return `${fp.key}: needs ${call}, which the scope accessor chain does not reach`;
  }
  return null;
}

/**
 * A replacement may call another replacement directly, with every argument (builder
 * diff/direct-calls.ts): only as `(__hp$s?.[K] ?? fallback)(…)`, where K is a function of this
 * module whose guard passes exactly its parameters (its replacement takes nothing else).
 */
function directSlotProblem(expr: AstNode, table: ModuleTable): string | null {
  let problem: string | null = null;
  const visit = (n: AstNode, up: AstNode[]): void => {
    if (problem) return;
    if (n.type === 'Identifier' && n.name === SLOTS) {
      // acorn: LogicalExpression(??) > ChainExpression > MemberExpression(optional, computed) > SLOTS
      const [member, chain, logical] = up;
      const k =
        member?.type === 'MemberExpression' && member.object === n && member.computed && member.optional
          ? (member.property as AstNode)
          : null;
      const index = k?.type === 'Literal' && typeof k.value === 'number' ? k.value : -1;
      const shape = table.functions[index];
      const direct =
        chain?.type === 'ChainExpression' &&
        logical?.type === 'LogicalExpression' &&
        logical.operator === '??' &&
        logical.left === chain;
      if (!shape || !direct) problem = `uses ${SLOTS} other than as a direct call of a slot`;
      else if (shape.call !== 'params' || shape.scope || shape.self || shape.privates?.length)
        problem = `calls ${shape.key} directly, whose replacement does not take its parameters alone`;
      return;
    }
    for (const c of childrenOf(n)) visit(c, [n, ...up]);
  };
  visit(expr, []);
  return problem;
}

/**
 * Every call of a private accessor the guard passes (`__hp$p0("x", o, …)`) names, as a string
 * literal, a private name of the class that accessor serves.
 */
function privateProblem(
  expr: AstNode,
  table: ModuleTable,
  shape: ModuleTable['functions'][number],
): string | null {
  for (const { callee, name: key } of calls(expr, (n) => n.startsWith(PRIVATE_PARAM_PREFIX))) {
    const i = Number(callee.slice(PRIVATE_PARAM_PREFIX.length));
    const cls = shape.privateNames?.[i];
    const names = cls === undefined ? undefined : table.privateClasses?.[cls];
    if (!names) return `uses ${callee}, which the guard does not pass`;
    if (key === null) return `asks ${callee} for a private name that is not a string literal`;
    if (!names.includes(key))
      return `needs #${key}, which ${shape.privates[i]?.split('.')[0]} does not declare in the running code`;
  }
  return null;
}

/**
 * The function a replacement expression evaluates to: a function expression, or a method of an
 * object literal whose prototype `super` resolves against: `({ __proto__: P, m() { … } }).m`.
 */
function replacementFunction(expr: AstNode): AstNode | null {
  if (expr.type === 'FunctionExpression') return expr;
  if (expr.type !== 'MemberExpression' || expr.computed) return null;
  let obj = expr.object as AstNode;
  while (obj.type === 'ParenthesizedExpression') obj = obj.expression as AstNode;
  if (obj.type !== 'ObjectExpression') return null;
  const name = (expr.property as AstNode).name;
  const m = (obj.properties as AstNode[]).find(
    (p) => p.type === 'Property' && p.method && (p.key as AstNode).name === name,
  );
  return (m?.value as AstNode | undefined) ?? null;
}

/** A parameter as the bundle lists it: its name (`a`, `a = 1`), `...rest`, or `?` for a pattern. */
function paramName(p: AstNode): string {
  if (p.type === 'Identifier') return p.name as string;
  if (p.type === 'AssignmentPattern' && (p.left as AstNode).type === 'Identifier')
    return (p.left as AstNode).name as string;
  if (p.type === 'RestElement' && (p.argument as AstNode).type === 'Identifier')
    return `...${(p.argument as AstNode).name as string}`;
  return '?';
}

/** Free identifiers of an expression: each is passed to `check`; the first problem is returned. */
function freeNames(expr: AstNode, check: (name: string) => string | null): string | null {
  // eslint-scope wants a Program: wrap the expression in one (positions do not matter here).
  const program = {
    type: 'Program',
    sourceType: 'script',
    body: [{ type: 'ExpressionStatement', expression: expr }],
  };
  const scopes = analyzeScopes(program, {
    ecmaVersion: 2022,
    sourceType: 'script',
    childVisitorKeys: KEYS,
  }) as unknown as ScopeManager;
  for (const ref of scopes.globalScope.through) {
    const problem = check(ref.identifier.name);
    if (problem) return problem;
  }
  return null;
}

/** Names asked of the scope accessor: `__hp$sc("x", ...)`; null for a call with a non-literal name. */
function accessorCalls(node: AstNode): Array<string | null> {
  return calls(node, (n) => n === SCOPE_PARAM).map((c) => c.name);
}

/**
 * Calls of a plain identifier the test accepts (an accessor a replacement takes), with the name
 * each asks for: its first argument when a string literal, else null.
 */
function calls(
  node: AstNode,
  test: (callee: string) => boolean,
  out: Array<{ callee: string; name: string | null }> = [],
): Array<{ callee: string; name: string | null }> {
  if (node.type === 'CallExpression') {
    const callee = node.callee as AstNode;
    if (callee.type === 'Identifier' && test(callee.name as string)) {
      const first = (node.arguments as AstNode[])[0];
      const name = first?.type === 'Literal' && typeof first.value === 'string' ? first.value : null;
      out.push({ callee: callee.name as string, name });
    }
  }
  for (const c of childrenOf(node)) calls(c, test, out);
  return out;
}
