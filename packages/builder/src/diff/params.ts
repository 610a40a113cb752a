import type { AstNode } from '@hotpatch/instrument';

/** The name a parameter binds when it takes one value: `a`, `a = 1`; null for patterns. */
export function paramName(p: AstNode): string | null {
  if (p.type === 'Identifier') return p.name as string;
  if (p.type === 'AssignmentPattern' && (p.left as AstNode).type === 'Identifier')
    return (p.left as AstNode).name as string;
  return null;
}
