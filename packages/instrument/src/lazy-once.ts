import { type AstNode, childrenOf, isFunctionNode } from './ast.js';

/**
 * Lazy run-once wrappers: bundlers wrap each module they inline in a function that a helper
 * runs the first time the module is required, and never again (esbuild's
 * `__commonJS = (cb, mod) => () => (mod || cb((mod = { exports: {} }).exports, mod), mod.exports)`
 * and `__esm = (fn, res) => () => (fn && (res = fn(fn = 0)), res)`, minified or not). Such a
 * module function is module-level code: by the time a patch arrives it has usually run, and new
 * code in it would never run. It is recognised by what the helper does, not by its name:
 *
 *   a function D(p0, p1, …) that returns a function R, where R calls one of D's parameters pK
 *   (`pK(…)`, `(0, pK)(…)`, `pK[k](…)`) only under a guard (`v || …`, `v && …`, `v ? … : …`,
 *   `if (v) …`) on a variable v of D that R assigns — the memo that makes the call happen once.
 *
 * Returns, per name of such a helper (declared once in the file, so a call by that name is a
 * call of it), the indexes of the parameters it runs once.
 */
export function lazyOnceHelpers(program: AstNode): Map<string, Set<number>> {
  const declared = new Map<string, number>();
  const candidates = new Map<string, AstNode>();
  const walk = (node: AstNode): void => {
    if (node.type === 'VariableDeclarator' && (node.id as AstNode).type === 'Identifier') {
      const name = (node.id as AstNode).name as string;
      declared.set(name, (declared.get(name) ?? 0) + 1);
      if (node.init && isFunctionNode(node.init as AstNode)) candidates.set(name, node.init as AstNode);
    } else if (node.type === 'FunctionDeclaration' && node.id) {
      const name = (node.id as AstNode).name as string;
      declared.set(name, (declared.get(name) ?? 0) + 1);
      candidates.set(name, node);
    } else if (isFunctionNode(node)) {
      for (const p of node.params as AstNode[])
        if (p.type === 'Identifier')
          declared.set(p.name as string, (declared.get(p.name as string) ?? 0) + 1);
    }
    for (const c of childrenOf(node)) walk(c);
  };
  walk(program);
  const out = new Map<string, Set<number>>();
  for (const [name, fn] of candidates) {
    if (declared.get(name) !== 1) continue;
    const once = onceParams(fn);
    if (once.size) out.set(name, once);
  }
  return out;
}

/** Indexes of `fn`'s parameters that the function it returns calls once (see above). */
export function onceParams(fn: AstNode): Set<number> {
  const out = new Set<number>();
  const params = fn.params as AstNode[];
  if (!params.every((p) => p.type === 'Identifier')) return out;
  const inner = returnedFunction(fn);
  if (!inner) return out;
  const innerNames = new Set(
    (inner.params as AstNode[]).flatMap((p) => (p.type === 'Identifier' ? [p.name] : [])),
  );
  // Variables of D the returned function can keep a memo in: D's parameters and its own `var`s.
  const ownVars = new Set<string>(params.map((p) => p.name as string));
  if ((fn.body as AstNode).type === 'BlockStatement')
    for (const s of (fn.body as AstNode).body as AstNode[])
      if (s.type === 'VariableDeclaration')
        for (const d of s.declarations as AstNode[])
          if ((d.id as AstNode).type === 'Identifier') ownVars.add((d.id as AstNode).name as string);
  const assigned = assignedNames(inner);
  params.forEach((p, i) => {
    const name = p.name as string;
    if (innerNames.has(name)) return;
    const calls = callsOf(inner, name);
    if (calls.length !== 1) return;
    const guard = guardOf(calls[0]!);
    if (guard && namesIn(guard).some((v) => ownVars.has(v) && !innerNames.has(v) && assigned.has(v)))
      out.add(i);
  });
  return out;
}

function unwrap(node: AstNode): AstNode {
  let n = node;
  for (;;) {
    if (n.type === 'ParenthesizedExpression') n = n.expression as AstNode;
    else if (n.type === 'SequenceExpression') n = (n.expressions as AstNode[]).at(-1)!;
    else return n;
  }
}

/** The function `fn` returns: its arrow body, or the argument of its last statement. */
function returnedFunction(fn: AstNode): AstNode | null {
  const body = fn.body as AstNode;
  let value: AstNode | null = null;
  if (body.type !== 'BlockStatement') value = body;
  else {
    const last = (body.body as AstNode[]).at(-1);
    if (last?.type === 'ReturnStatement' && last.argument) value = last.argument as AstNode;
  }
  if (!value) return null;
  const v = unwrap(value);
  return v.type === 'FunctionExpression' || v.type === 'ArrowFunctionExpression' ? v : null;
}

interface Found {
  call: AstNode;
  /** Ancestors from the returned function's body down to the call. */
  path: AstNode[];
}

/** Calls in `root` (not in nested functions) whose callee is `name`, `(0, name)` or `name[k]`. */
function callsOf(root: AstNode, name: string): Found[] {
  const out: Found[] = [];
  const walk = (node: AstNode, path: AstNode[]): void => {
    if (node !== root && isFunctionNode(node)) return;
    if (node.type === 'CallExpression') {
      let callee = unwrap(node.callee as AstNode);
      if (callee.type === 'MemberExpression' && callee.computed) callee = unwrap(callee.object as AstNode);
      if (callee.type === 'Identifier' && callee.name === name) out.push({ call: node, path });
    }
    for (const c of childrenOf(node)) walk(c, [...path, node]);
  };
  walk(root, []);
  return out;
}

/** The test guarding a call: the nearest `a || call`, `a && call`, `a ? call : …` or `if (a) call`. */
function guardOf({ call, path }: Found): AstNode | null {
  let child = call;
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i]!;
    if (p.type === 'LogicalExpression' && p.right === child) return p.left as AstNode;
    if (p.type === 'ConditionalExpression' && p.test !== child) return p.test as AstNode;
    if (p.type === 'IfStatement' && p.test !== child) return p.test as AstNode;
    child = p;
  }
  return null;
}

function namesIn(node: AstNode): string[] {
  if (node.type === 'Identifier') return [node.name as string];
  if (isFunctionNode(node)) return [];
  return childrenOf(node).flatMap(namesIn);
}

/** Names assigned (`v = …`) anywhere in `root`, outside nested functions. */
function assignedNames(root: AstNode): Set<string> {
  const out = new Set<string>();
  const walk = (node: AstNode): void => {
    if (node !== root && isFunctionNode(node)) return;
    if (node.type === 'AssignmentExpression' && (node.left as AstNode).type === 'Identifier')
      out.add((node.left as AstNode).name as string);
    for (const c of childrenOf(node)) walk(c);
  };
  walk(root);
  return out;
}
