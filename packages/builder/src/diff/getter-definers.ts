import { type AstNode, childrenOf, isFunctionNode } from '@hotpatch/instrument';
import { calleeName } from './units.js';

/**
 * Bundlers build an ES module's namespace object (`import * as types`) with a helper that
 * defines one getter per property of an object literal:
 *   var __export = (target, all) => { for (var name in all) __defProp(target, name, { get: all[name], enumerable: true }); };
 *   __export(types_exports, { code: () => code, normalFsTypes: () => normalFsTypes });
 * (esbuild; webpack's `__webpack_require__.d` is the same loop). A property the fix adds to such
 * a literal is one more getter on the running namespace object, which the apply can define
 * itself: the helper does nothing else with it. Recognised by what the helper does, not by name:
 *
 *   a function (t, a) whose body is `for (var k in a) D(t, k, { get: a[k], enumerable: <truthy> })`,
 *   optionally under an `if`, where D is `Object.defineProperty` or a variable initialised to it.
 *
 * Returns the names of such helpers (declared once in the file).
 */
export function getterDefiners(program: AstNode): Set<string> {
  const declared = new Map<string, number>();
  const fns = new Map<string, AstNode>();
  const definers = new Set<string>();
  const walk = (node: AstNode): void => {
    if (node.type === 'VariableDeclarator' && (node.id as AstNode).type === 'Identifier') {
      const name = (node.id as AstNode).name as string;
      declared.set(name, (declared.get(name) ?? 0) + 1);
      const init = node.init as AstNode | null;
      if (init && isFunctionNode(init)) fns.set(name, init);
      if (init && isDefineProperty(init)) definers.add(name);
    } else if (node.type === 'FunctionDeclaration' && node.id) {
      const name = (node.id as AstNode).name as string;
      declared.set(name, (declared.get(name) ?? 0) + 1);
      fns.set(name, node);
    }
    for (const c of childrenOf(node)) walk(c);
  };
  walk(program);
  const once = (name: string) => declared.get(name) === 1;
  const out = new Set<string>();
  for (const [name, fn] of fns)
    if (
      once(name) &&
      definesGetters(
        fn,
        (d) =>
          isDefineProperty(d) ||
          (d.type === 'Identifier' && definers.has(d.name as string) && once(d.name as string)),
      )
    )
      out.add(name);
  return out;
}

/** `Object.defineProperty`. */
const isDefineProperty = (node: AstNode) => calleeName(node) === 'Object.defineProperty';

function definesGetters(fn: AstNode, isDefiner: (callee: AstNode) => boolean): boolean {
  const params = fn.params as AstNode[];
  if (params.length !== 2 || !params.every((p) => p.type === 'Identifier')) return false;
  const [t, a] = params.map((p) => p.name as string) as [string, string];
  const body = fn.body as AstNode;
  if (body.type !== 'BlockStatement' || (body.body as AstNode[]).length !== 1) return false;
  const loop = (body.body as AstNode[])[0]!;
  if (loop.type !== 'ForInStatement' || !isIdentifier(loop.right as AstNode, a)) return false;
  const left = loop.left as AstNode;
  const decl =
    left.type === 'VariableDeclaration' ? ((left.declarations as AstNode[])[0]?.id as AstNode) : left;
  if (decl?.type !== 'Identifier') return false;
  const k = decl.name as string;
  let stmt = loop.body as AstNode;
  if (stmt.type === 'BlockStatement' && (stmt.body as AstNode[]).length === 1)
    stmt = (stmt.body as AstNode[])[0]!;
  // webpack: `if (o(definition, key) && !o(exports, key)) Object.defineProperty(…)`.
  if (stmt.type === 'IfStatement' && !stmt.alternate) {
    stmt = stmt.consequent as AstNode;
    if (stmt.type === 'BlockStatement' && (stmt.body as AstNode[]).length === 1)
      stmt = (stmt.body as AstNode[])[0]!;
  }
  if (stmt.type !== 'ExpressionStatement') return false;
  const call = stmt.expression as AstNode;
  if (call.type !== 'CallExpression' || !isDefiner(call.callee as AstNode)) return false;
  const [target, key, descriptor, ...rest] = call.arguments as AstNode[];
  if (rest.length || !target || !key || !descriptor) return false;
  if (!isIdentifier(target, t) || !isIdentifier(key, k) || descriptor.type !== 'ObjectExpression')
    return false;
  const props = descriptor.properties as AstNode[];
  const prop = (name: string) =>
    props.find((p) => p.type === 'Property' && !p.computed && (p.key as AstNode).name === name)?.value as
      | AstNode
      | undefined;
  const get = prop('get');
  const enumerable = prop('enumerable');
  return (
    props.length === 2 &&
    get?.type === 'MemberExpression' &&
    Boolean(get.computed) &&
    isIdentifier(get.object as AstNode, a) &&
    isIdentifier(get.property as AstNode, k) &&
    enumerable !== undefined &&
    isTrue(enumerable)
  );
}

function isIdentifier(node: AstNode, name: string): boolean {
  return node.type === 'Identifier' && node.name === name;
}

/** `true` or `!0`. */
function isTrue(node: AstNode): boolean {
  if (node.type === 'Literal') return node.value === true;
  return (
    node.type === 'UnaryExpression' &&
    node.operator === '!' &&
    (node.argument as AstNode).type === 'Literal' &&
    (node.argument as AstNode).value === 0
  );
}
