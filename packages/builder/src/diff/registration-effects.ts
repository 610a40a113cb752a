import { type AstNode, childrenOf, type Reference, type Variable } from '@hotpatch/instrument';

/**
 * What registration code (registrations.ts) may do: call built-ins without effects, be given
 * arguments that can be computed again, and own its tables (nothing writes into them after load).
 */

/** Methods that read their receiver (a string or array local to the function) and change nothing. */
export const READ_ONLY_METHODS = new Set([
  'split',
  'join',
  'replace',
  'replaceAll',
  'slice',
  'substring',
  'substr',
  'toLowerCase',
  'toUpperCase',
  'trim',
  'concat',
  'indexOf',
  'lastIndexOf',
  'includes',
  'startsWith',
  'endsWith',
  'charAt',
  'charCodeAt',
  'map',
  'filter',
  'some',
  'every',
  'toString',
]);
export const PURE_FUNCTIONS = new Set([
  'String',
  'Number',
  'Boolean',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
]);
/**
 * Built-in prototype methods borrowed with `.call` that only read (moment's `isNumber`:
 * `Object.prototype.toString.call(input)`); none calls back into code it is given.
 */
export const BUILTIN_PROTOTYPE_READS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['Object', new Set(['toString', 'hasOwnProperty', 'propertyIsEnumerable', 'valueOf'])],
  ['Array', new Set(['slice', 'indexOf', 'lastIndexOf', 'join', 'concat', 'includes'])],
  ['String', new Set(['slice', 'indexOf', 'charAt', 'charCodeAt', 'toLowerCase', 'toUpperCase'])],
]);

/** `Object.prototype.toString.call(x)`: `G.prototype.m.call`, G an unshadowed built-in. */
export function isBuiltinPrototypeRead(callee: AstNode, refs: Map<number, Reference>): boolean {
  const member = (n: AstNode, name: string) =>
    n.type === 'MemberExpression' && !n.computed && (n.property as AstNode).name === name;
  if (!member(callee, 'call')) return false;
  const method = callee.object as AstNode;
  if (method.type !== 'MemberExpression' || method.computed) return false;
  const proto = method.object as AstNode;
  if (!member(proto, 'prototype')) return false;
  const g = proto.object as AstNode;
  if (g.type !== 'Identifier' || refs.get(g.start)?.resolved) return false;
  return (
    BUILTIN_PROTOTYPE_READS.get(g.name as string)?.has((method.property as AstNode).name as string) ?? false
  );
}

export const PURE_CONSTRUCTORS = new Set(['RegExp', 'Error', 'TypeError', 'Map', 'Set', 'Array', 'Object']);

/**
 * Whether code outside the registration functions writes into one of the tables (`re[i] = …`,
 * `delete t[k]`, `re.push(…)`): then the tables hold more than what load-time code built.
 */
export function changedLater(
  ast: AstNode,
  tables: Set<Variable>,
  refs: Map<number, Reference>,
  inClosure: (pos: number) => boolean,
  entriesMayUseThis = true,
): boolean {
  const rootVar = (n: AstNode): Variable | null => {
    let r = n;
    while (r.type === 'MemberExpression' || r.type === 'ChainExpression')
      r = (r.type === 'ChainExpression' ? r.expression : r.object) as AstNode;
    const v = r.type === 'Identifier' ? refs.get(r.start)?.resolved : null;
    return v && tables.has(v) ? v : null;
  };
  let found = false;
  const visit = (n: AstNode): void => {
    if (found || inClosure(n.start)) return;
    const target =
      n.type === 'AssignmentExpression'
        ? (n.left as AstNode)
        : n.type === 'UpdateExpression' || (n.type === 'UnaryExpression' && n.operator === 'delete')
          ? (n.argument as AstNode)
          : null;
    // A mutating method called on a table itself (`re.push(…)`; `re[i].test(…)` uses an entry).
    const callee = n.type === 'CallExpression' ? (n.callee as AstNode) : null;
    // `tokens[name](…)` calls an entry (with the table as `this`): a use, when no function the
    // registration stores there reads `this`.
    const entryCall = callee?.type === 'MemberExpression' && callee.computed && !entriesMayUseThis;
    const onTable =
      callee?.type === 'MemberExpression' &&
      !entryCall &&
      (callee.object as AstNode).type === 'Identifier' &&
      !READ_ONLY_METHODS.has((callee.property as AstNode).name as string) &&
      rootVar(callee.object as AstNode) !== null;
    if (onTable || (target && target.type !== 'Identifier' && rootVar(target))) {
      found = true;
      return;
    }
    for (const c of childrenOf(n)) visit(c);
  };
  visit(ast);
  return found;
}

/** Arguments a registration call can be given again: values, reads, fresh literals and closures. */
export function pureArguments(args: AstNode[]): boolean {
  const ok = (n: AstNode): boolean => {
    switch (n.type) {
      case 'Literal':
      case 'Identifier':
      case 'ThisExpression':
        return true;
      case 'TemplateLiteral':
        return (n.expressions as AstNode[]).every(ok);
      case 'MemberExpression':
        return ok(n.object as AstNode) && (!n.computed || ok(n.property as AstNode));
      case 'BinaryExpression':
      case 'LogicalExpression':
        return ok(n.left as AstNode) && ok(n.right as AstNode);
      case 'ConditionalExpression':
        return ok(n.test as AstNode) && ok(n.consequent as AstNode) && ok(n.alternate as AstNode);
      case 'UnaryExpression':
        return n.operator !== 'delete' && ok(n.argument as AstNode);
      case 'ArrayExpression':
        return (n.elements as Array<AstNode | null>).every((e) => e === null || ok(e));
      case 'ObjectExpression':
        return (n.properties as AstNode[]).every(
          (p) => p.type === 'Property' && (!p.computed || ok(p.key as AstNode)) && ok(p.value as AstNode),
        );
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return true; // a fresh closure, run later
      case 'CallExpression': {
        // A read-only method of a value (`src[t.WORD].slice(1)`)
        const c = n.callee as AstNode;
        return (
          c.type === 'MemberExpression' &&
          !c.computed &&
          READ_ONLY_METHODS.has((c.property as AstNode).name as string) &&
          ok(c.object as AstNode) &&
          (n.arguments as AstNode[]).every(ok)
        );
      }
      default:
        return false;
    }
  };
  return args.every(ok);
}
