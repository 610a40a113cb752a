import * as acorn from 'acorn';
import { KEYS } from 'eslint-visitor-keys';

/** Parsing and walking: the AST shape the analysis, the instrumenter and the builder share. */

export type SourceType = 'commonjs' | 'module';

// acorn's AST as a loose shape: we walk generically by visitor keys.
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

export function parse(source: string, sourceType: SourceType, tokens?: acorn.Token[]): AstNode {
  return acorn.parse(source, {
    ecmaVersion: 'latest',
    sourceType: sourceType === 'module' ? 'module' : 'script',
    allowHashBang: true,
    allowReturnOutsideFunction: sourceType === 'commonjs',
    ranges: true,
    ...(tokens ? { onToken: tokens } : {}),
  }) as unknown as AstNode;
}

/** Guesses CommonJS vs ESM when the loader does not say: ESM syntax wins. */
export function detectSourceType(source: string, hint?: SourceType): SourceType {
  if (hint) return hint;
  try {
    parse(source, 'commonjs');
    return 'commonjs';
  } catch {
    return 'module';
  }
}

export function isFunctionNode(node: AstNode): boolean {
  return (
    node.type === 'FunctionDeclaration' ||
    node.type === 'FunctionExpression' ||
    node.type === 'ArrowFunctionExpression'
  );
}

/** The fields of a node type that hold its children, in source order (ESTree visitor keys). */
export function childKeys(type: string): readonly string[] {
  return KEYS[type] ?? [];
}

/** Children of a node in source order, by ESTree visitor keys. */
export function childrenOf(node: AstNode): AstNode[] {
  const keys = KEYS[node.type] ?? [];
  const out: AstNode[] = [];
  for (const key of keys) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const v of value) if (v && typeof v === 'object' && 'type' in v) out.push(v as AstNode);
    } else if (value && typeof value === 'object' && 'type' in value) {
      out.push(value as AstNode);
    }
  }
  return out;
}

/** The names a binding pattern declares (destructuring, defaults, rest). */
export function bindingNames(pattern: AstNode, out: string[] = []): string[] {
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name as string);
      break;
    case 'AssignmentPattern':
      bindingNames(pattern.left as AstNode, out);
      break;
    case 'RestElement':
      bindingNames(pattern.argument as AstNode, out);
      break;
    case 'ArrayPattern':
      for (const el of pattern.elements as (AstNode | null)[]) if (el) bindingNames(el, out);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties as AstNode[]) {
        bindingNames(p.type === 'RestElement' ? p : (p.value as AstNode), out);
      }
      break;
  }
  return out;
}

/** Where code may be inserted in a block without moving its directive prologue ('use strict'). */
export function directiveEnd(block: AstNode): { pos: number; afterDirective: boolean } {
  let pos = block.type === 'Program' ? block.start : block.start + 1;
  let afterDirective = false;
  for (const stmt of block.body as AstNode[]) {
    if (stmt.type === 'ExpressionStatement' && typeof stmt.directive === 'string') {
      pos = stmt.end;
      afterDirective = true;
    } else break;
  }
  return { pos, afterDirective };
}
