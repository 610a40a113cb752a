import type { AstNode, FunctionInfo, Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { isReassigned } from './scope.js';
import { isPureExpr } from './units.js';

/** Facts about a binding the resolver (references.ts) asks: its running name, whether a literal stands for it. */

export function isFunctionDeclaration(v: Variable): boolean {
  return v.defs.some((d) => d.type === 'FunctionName');
}

/**
 * The literal a variable is bound to, when it is one and nothing reassigns it: the same value
 * wherever it is read, so new code may use the literal instead of a binding it cannot reach.
 */
export function inlinableLiteral(source: string, v: Variable): string | null {
  if (v.defs.length !== 1 || isReassigned(v)) return null;
  const def = v.defs[0]!;
  const declarator = def.node as unknown as AstNode;
  if (def.type !== 'Variable' || declarator.type !== 'VariableDeclarator') return null;
  if ((declarator.id as AstNode).type !== 'Identifier') return null;
  const init = declarator.init as AstNode | null;
  if (!init || !isPureExpr(init, new Set()) || hasIdentifier(init)) return null;
  return source.slice(init.start, init.end);
}

function hasIdentifier(node: AstNode): boolean {
  if (node.type === 'Identifier') return true;
  for (const k of Object.keys(node)) {
    const v = node[k];
    if (Array.isArray(v)) {
      if (v.some((x) => x && typeof x === 'object' && 'type' in x && hasIdentifier(x as AstNode)))
        return true;
    } else if (v && typeof v === 'object' && 'type' in (v as object) && k !== 'parent') {
      if (hasIdentifier(v as AstNode)) return true;
    }
  }
  return false;
}

/** A binding's name in the running code: module-level renames, or a renamed parameter of `where`. */
export function runningName(ctx: DiffContext, where: FunctionInfo | 'block' | null, name: string): string {
  const local = where !== null && where !== 'block' ? ctx.m.renameIn(where, name) : name;
  return local !== name ? local : ctx.m.rename(name);
}
