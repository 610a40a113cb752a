import { type AstNode, childrenOf, isFunctionNode, parse, type SourceType } from '@hotpatch/instrument';
import { calleeName } from './units.js';

/**
 * Whether a module's export is a function that only writes output (semver's
 * `debug = NODE_DEBUG ? (...args) => console.error('SEMVER', ...args) : () => {}`): calling it
 * again changes no state. The export may be a function, a binding of one, or a choice between such.
 */
export function isQuietModule(source: string, sourceType: SourceType): boolean {
  let ast: AstNode;
  try {
    ast = parse(source, sourceType);
  } catch {
    return false;
  }
  const body = ast.body as AstNode[];
  let exported: AstNode | null = null;
  for (const s of body) {
    if (s.type !== 'ExpressionStatement') continue;
    const e = s.expression as AstNode;
    const left = e.type === 'AssignmentExpression' ? (e.left as AstNode) : null;
    if (left?.type === 'MemberExpression' && calleeName(left) === 'module.exports')
      exported = e.right as AstNode;
  }
  if (!exported) return false;
  const declared = (name: string): AstNode | null => {
    for (const s of body) {
      if (s.type === 'FunctionDeclaration' && (s.id as AstNode).name === name) return s;
      if (s.type === 'VariableDeclaration')
        for (const d of s.declarations as AstNode[])
          if ((d.id as AstNode).type === 'Identifier' && (d.id as AstNode).name === name)
            return d.init as AstNode;
    }
    return null;
  };
  const quiet = (n: AstNode | null, depth: number): boolean => {
    if (!n || depth > 3) return false;
    if (n.type === 'Identifier') return quiet(declared(n.name as string), depth + 1);
    if (n.type === 'ConditionalExpression')
      return quiet(n.consequent as AstNode, depth + 1) && quiet(n.alternate as AstNode, depth + 1);
    return isFunctionNode(n) && onlyWritesOutput(n);
  };
  return quiet(exported, 0);
}

const OUTPUT = new Set(['console.log', 'console.error', 'console.warn', 'console.info', 'console.debug']);

/** A function whose calls are all console output and that assigns nothing outside itself. */
function onlyWritesOutput(fn: AstNode): boolean {
  const ok = (n: AstNode): boolean => {
    if (isFunctionNode(n) && n !== fn) return false;
    if (n.type === 'CallExpression' || n.type === 'NewExpression') {
      const name = calleeName(n.callee as AstNode);
      if (n.type === 'NewExpression' || !name || !OUTPUT.has(name)) return false;
    }
    if (n.type === 'AssignmentExpression' || n.type === 'UpdateExpression' || n.type === 'ThisExpression')
      return false;
    return childrenOf(n).every(ok);
  };
  return childrenOf(fn).every(ok);
}
