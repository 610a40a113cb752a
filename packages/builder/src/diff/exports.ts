import { type AstNode, analyzeModule, type ModuleAnalysis, type SourceType } from '@hotpatch/instrument';
import { isPureExpr } from './units.js';

/**
 * Exported literal constants (`module.exports = { MAX_LENGTH: 10000 }`) a fix changed: other files
 * of the package may have copied them into their own bindings at load, and then need the new
 * values (package-exports.ts finds those files).
 */

function exportsObject(stmt: AstNode): AstNode | null {
  if (stmt.type !== 'ExpressionStatement') return null;
  const e = stmt.expression as AstNode;
  if (e.type !== 'AssignmentExpression' || e.operator !== '=') return null;
  const left = e.left as AstNode;
  const isModuleExports =
    left.type === 'MemberExpression' &&
    (left.object as AstNode).type === 'Identifier' &&
    (left.object as AstNode).name === 'module' &&
    (left.property as AstNode).name === 'exports';
  return isModuleExports && (e.right as AstNode).type === 'ObjectExpression' ? (e.right as AstNode) : null;
}

/** Literal values of `module.exports = { KEY: literal, ... }` by key. */
function exportedLiterals(a: ModuleAnalysis, obj: AstNode): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const p of obj.properties as AstNode[]) {
    if (p.type !== 'Property' || p.computed || p.kind !== 'init') return null;
    const key =
      (p.key as AstNode).type === 'Identifier'
        ? ((p.key as AstNode).name as string)
        : String((p.key as AstNode).value);
    const value = p.value as AstNode;
    if (!isPureExpr(value, new Set())) return null;
    out.set(key, a.source.slice(value.start, value.end));
  }
  return out;
}

/** Both versions of a file analysed, or null when either does not parse. */
export function analyzePair(
  oldSource: string,
  newSource: string,
  sourceType: SourceType,
): [ModuleAnalysis, ModuleAnalysis] | null {
  try {
    return [analyzeModule(oldSource, { sourceType }), analyzeModule(newSource, { sourceType })];
  } catch {
    return null;
  }
}

/** The changed literal exports of a file (for importers): key -> new value text. */
export function changedExportedLiterals(
  oldSource: string,
  newSource: string,
  sourceType: SourceType,
): Map<string, string> | null {
  const pair = analyzePair(oldSource, newSource, sourceType);
  if (!pair) return null;
  const [A, B] = pair;
  const objA = (A.ast.body as AstNode[]).map(exportsObject).find((o) => o !== null);
  const objB = (B.ast.body as AstNode[]).map(exportsObject).find((o) => o !== null);
  if (!objA || !objB) return null;
  const la = exportedLiterals(A, objA);
  const lb = exportedLiterals(B, objB);
  if (!la || !lb) return null;
  const out = new Map<string, string>();
  for (const [k, v] of lb)
    if (la.get(k) !== undefined && la.get(k)!.replace(/\s+/g, '') !== v.replace(/\s+/g, '')) out.set(k, v);
  return out.size ? out : null;
}
