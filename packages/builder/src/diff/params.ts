import { type AstNode, childrenOf } from '@hotpatch/instrument';

/** The name a parameter binds when it takes one value: `a`, `a = 1`; null for patterns. */
export function paramName(p: AstNode): string | null {
  if (p.type === 'Identifier') return p.name as string;
  if (p.type === 'AssignmentPattern' && (p.left as AstNode).type === 'Identifier')
    return (p.left as AstNode).name as string;
  return null;
}

/**
 * Why running callers may hand the fixed function more values than its guard forwards, or null.
 * The guard passes the baseline's parameters only, so a parameter the fix adds takes its default
 * when called through it. That is what the fix means only if nobody passes that parameter: a
 * caller in the fixed file that passes more values, or a place that hands the function to other
 * code as a callback (which may pass more), makes the hotpatched function differ from the fixed one.
 */
export function extraArgumentsReason(
  program: AstNode,
  fn: AstNode,
  key: string,
  n: number,
  direct: (call: AstNode) => boolean = () => false,
): string | null {
  const name = callName(key);
  // A method is called as `x.name(...)`; a function bound to a variable as `name(...)`.
  const method = /[.#]/.test(key.split('/').pop() ?? '');
  let reason: string | null = null;
  const calleeName = (c: AstNode): string | null =>
    c.type === 'Identifier' && !method
      ? (c.name as string)
      : c.type === 'MemberExpression' && !c.computed && method
        ? ((c.property as AstNode).name as string)
        : null;
  const visit = (node: AstNode): void => {
    if (reason) return;
    if (node.type === 'CallExpression' || node.type === 'NewExpression') {
      const args = node.arguments as AstNode[];
      if (args.includes(fn)) reason = 'it is passed as a callback, whose caller may pass the new parameters';
      else if (name && calleeName(node.callee as AstNode) === name) {
        // A call the patch turns into a direct call of the replacement passes every argument.
        if (direct(node)) {
          // passes them all
        } else if (args.length > n || args.some((a) => a.type === 'SpreadElement'))
          reason = `a call to ${name} in the fixed code passes ${args.length > n ? args.length : 'spread'} arguments`;
      } else if (name && args.some((a) => calleeName(a) === name))
        reason = `${name} is passed as a callback, whose caller may pass the new parameters`;
    }
    for (const c of childrenOf(node)) visit(c);
  };
  visit(program);
  return reason;
}

/**
 * New code reads `arguments` only as compilers write default parameters: `arguments[K]`, and
 * `arguments.length` only in `arguments.length > K && arguments[K] !== undefined`. Those read the
 * same through the guard (which passes the baseline's parameters, so `arguments.length` is their
 * count) as when called directly; any other use of `arguments.length` would not.
 */
export function argumentsReadAsDefaults(body: AstNode, self: AstNode): boolean {
  const isArgs = (n: AstNode | undefined) => n?.type === 'Identifier' && n.name === 'arguments';
  const index = (n: AstNode): number | null =>
    n.type === 'MemberExpression' &&
    n.computed &&
    isArgs(n.object as AstNode) &&
    (n.property as AstNode).type === 'Literal' &&
    typeof (n.property as AstNode).value === 'number'
      ? ((n.property as AstNode).value as number)
      : null;
  const isUndefined = (n: AstNode) =>
    (n.type === 'Identifier' && n.name === 'undefined') ||
    (n.type === 'UnaryExpression' && n.operator === 'void' && (n.argument as AstNode).type === 'Literal');
  const allowed = new Set<AstNode>();
  let ok = true;
  const visit = (n: AstNode): void => {
    if (n !== self && (n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration')) return;
    if (n.type === 'LogicalExpression' && n.operator === '&&') {
      const l = n.left as AstNode;
      const r = n.right as AstNode;
      const len = l.type === 'BinaryExpression' && l.operator === '>' ? (l.left as AstNode) : null;
      const k = l.type === 'BinaryExpression' ? (l.right as AstNode) : null;
      if (
        len?.type === 'MemberExpression' &&
        !len.computed &&
        isArgs(len.object as AstNode) &&
        (len.property as AstNode).name === 'length' &&
        k?.type === 'Literal' &&
        r.type === 'BinaryExpression' &&
        r.operator === '!==' &&
        index(r.left as AstNode) === k.value &&
        isUndefined(r.right as AstNode)
      )
        allowed.add(len.object as AstNode);
    }
    if (n.type === 'MemberExpression' && isArgs(n.object as AstNode) && index(n) !== null)
      allowed.add(n.object as AstNode);
    if (isArgs(n) && !allowed.has(n)) ok = false;
    for (const c of childrenOf(n)) visit(c);
  };
  visit(body);
  return ok;
}

/** The name callers use for a function, from its key (`lib/x/Cookie#parse@2` → `parse`); null when anonymous. */
export function callName(key: string): string | null {
  const last = (key.split('/').pop() ?? '').replace(/@\d+$/, '').split(/[.#]/).pop() ?? '';
  return /^[A-Za-z_$][\w$]*$/.test(last) ? last : null;
}
