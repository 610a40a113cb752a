import { type AstNode, bindingNames, type FunctionInfo, type ModuleAnalysis } from '@hotpatch/instrument';

/**
 * Units: bodies whose declarations outlive the code that made them — the module itself and
 * functions that run once (IIFE and UMD wrappers). Their declarations are module state; their
 * other statements ran once, at load.
 */

export interface Decl {
  name: string;
  /** Statement holding the declaration (range used to exclude it from executable code). */
  stmt: AstNode;
  /** Initializer, or the function/class node itself. */
  init: AstNode | null;
  /** function: a function declaration or function-valued const; const: pure value; state: anything else. */
  kind: 'function' | 'const' | 'state';
}

export interface Unit {
  /** null for the module itself. */
  fn: FunctionInfo | null;
  body: AstNode[];
  decls: Map<string, Decl>;
  /** Statements that run (everything but pure declarations). */
  executable: AstNode[];
}

const PURE_CALLEES = new Set(['RegExp', 'String', 'Number', 'Symbol', 'Object.freeze', 'String.raw']);

/** An expression that computes the same value whenever it is evaluated, with no effect. */
export function isPureExpr(node: AstNode | null, pureNames: Set<string>): boolean {
  if (!node) return true;
  switch (node.type) {
    case 'Literal':
      return true;
    case 'TemplateLiteral':
      return (node.expressions as AstNode[]).every((e) => isPureExpr(e, pureNames));
    case 'TaggedTemplateExpression':
      return calleeName(node.tag as AstNode) === 'String.raw' && isPureExpr(node.quasi as AstNode, pureNames);
    case 'Identifier':
      return pureNames.has(node.name as string) || node.name === 'undefined';
    case 'UnaryExpression':
      return node.operator !== 'delete' && isPureExpr(node.argument as AstNode, pureNames);
    case 'BinaryExpression':
    case 'LogicalExpression':
      return isPureExpr(node.left as AstNode, pureNames) && isPureExpr(node.right as AstNode, pureNames);
    case 'ConditionalExpression':
      return ['test', 'consequent', 'alternate'].every((k) => isPureExpr(node[k] as AstNode, pureNames));
    case 'ArrayExpression':
      return (node.elements as (AstNode | null)[]).every((e) => e === null || isPureExpr(e, pureNames));
    case 'ObjectExpression':
      return (node.properties as AstNode[]).every(
        (p) =>
          p.type === 'Property' &&
          !p.computed &&
          p.kind === 'init' &&
          isPureExpr(p.value as AstNode, pureNames),
      );
    case 'NewExpression':
    case 'CallExpression':
      return (
        PURE_CALLEES.has(calleeName(node.callee as AstNode) ?? '') &&
        (node.arguments as AstNode[]).every((a) => isPureExpr(a, pureNames))
      );
    case 'MemberExpression':
      // `'abc'.length`, `[...].join('|')` style: pure when object is pure and the member is plain.
      return !node.computed && isPureExpr(node.object as AstNode, pureNames);
    default:
      return false;
  }
}

export function calleeName(node: AstNode): string | null {
  if (node.type === 'Identifier') return node.name as string;
  if (node.type === 'MemberExpression' && !node.computed) {
    const o = calleeName(node.object as AstNode);
    return o ? `${o}.${(node.property as AstNode).name as string}` : null;
  }
  return null;
}

/** The specifier of `require('…')` (a string literal), or null. */
export function requiredSpec(n: AstNode): string | null {
  if (n.type !== 'CallExpression' || calleeName(n.callee as AstNode) !== 'require') return null;
  const [arg] = n.arguments as AstNode[];
  return arg?.type === 'Literal' && typeof arg.value === 'string' ? arg.value : null;
}

export function isFunctionLike(node: AstNode | null): boolean {
  return (
    !!node &&
    (node.type === 'FunctionExpression' ||
      node.type === 'ArrowFunctionExpression' ||
      node.type === 'ClassExpression')
  );
}

/** Declarations and executable statements of a body (module or run-once function). */
export function unitOf(fn: FunctionInfo | null, body: AstNode[]): Unit {
  const decls = new Map<string, Decl>();
  const executable: AstNode[] = [];
  const pureNames = new Set<string>();
  // Two passes so that constants built from other constants count as pure.
  for (let pass = 0; pass < 2; pass++) {
    for (const stmt of declarationsOf(body)) {
      if (stmt.type === 'FunctionDeclaration' && stmt.id) pureNames.add((stmt.id as AstNode).name as string);
      if (stmt.type === 'VariableDeclaration') {
        for (const d of stmt.declarations as AstNode[]) {
          const id = d.id as AstNode;
          if (
            id.type === 'Identifier' &&
            (isFunctionLike(d.init as AstNode) || isPureExpr(d.init as AstNode, pureNames))
          ) {
            pureNames.add(id.name as string);
          }
        }
      }
    }
  }
  for (const outer of body) {
    const stmt = unwrapExport(outer);
    if (stmt.type === 'FunctionDeclaration' && stmt.id) {
      const name = (stmt.id as AstNode).name as string;
      decls.set(name, { name, stmt: outer, init: stmt, kind: 'function' });
      if (stmt !== outer) executable.push(outer);
      continue;
    }
    if (stmt.type === 'ClassDeclaration' && stmt.id) {
      const name = (stmt.id as AstNode).name as string;
      decls.set(name, { name, stmt: outer, init: stmt, kind: 'state' });
      executable.push(outer);
      continue;
    }
    if (stmt.type === 'VariableDeclaration') {
      const ds = stmt.declarations as AstNode[];
      const allPure = ds.every(
        (d) => (d.id as AstNode).type === 'Identifier' && pureNames.has((d.id as AstNode).name as string),
      );
      for (const d of ds) {
        for (const name of bindingNames(d.id as AstNode)) {
          const init = (d.init as AstNode | null) ?? null;
          decls.set(name, {
            name,
            stmt: outer,
            init,
            kind: !allPure ? 'state' : isFunctionLike(init) ? 'function' : 'const',
          });
        }
      }
      if (!allPure || stmt !== outer) executable.push(outer);
      continue;
    }
    executable.push(outer);
  }
  return { fn, body, decls, executable };
}

/** `export <declaration>` stands for the declaration; the export itself is compared as a statement. */
function unwrapExport(stmt: AstNode): AstNode {
  if (stmt.type === 'ExportNamedDeclaration' && stmt.declaration) return stmt.declaration as AstNode;
  return stmt;
}

function declarationsOf(body: AstNode[]): AstNode[] {
  return body.map(unwrapExport);
}

export function bodyStatements(a: ModuleAnalysis, fn: FunctionInfo | null): AstNode[] {
  if (!fn) return a.ast.body as AstNode[];
  return fn.bodyIsExpression ? [] : ((fn.body.body as AstNode[]) ?? []);
}
