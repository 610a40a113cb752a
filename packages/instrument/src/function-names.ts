import type { AstNode } from './ast.js';

/**
 * How a function is named from where it stands, the base of its key (analyze.ts adds the owner's
 * key and a counter): part of the function-key scheme (KEY_SCHEME in @hotpatch/core).
 */

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

export interface WalkFrame {
  node: AstNode;
  parent: AstNode | null;
}

/** Name a function gets from where it stands (declaration, assignment, property, call argument...). */
export function baseName(
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

/**
 * Is `fn` run once where it stands: an IIFE (also via .call/.apply), a UMD factory argument, or
 * the argument of a lazy run-once helper (`lazy`: lazy-once.ts; esbuild's `__commonJS`, `__esm`)?
 */
export function isOnce(fn: AstNode, stack: WalkFrame[], lazy?: Map<string, Set<number>>): boolean {
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
    if (callee.type === 'Identifier')
      return lazy?.get(callee.name as string)?.has((p.arguments as AstNode[]).indexOf(child)) ?? false;
    return callee.type === 'FunctionExpression' || callee.type === 'ArrowFunctionExpression';
  }
  return false;
}

export function classDisplayName(cls: AstNode, stack: WalkFrame[]): string {
  if (cls.id) return (cls.id as AstNode).name as string;
  return assignedName(cls, stack) ?? '<class>';
}
