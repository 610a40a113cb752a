import type { AstNode } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { nestedIn } from './load-time.js';
import type { UnitPair } from './module-level.js';
import type { Unit } from './units.js';

/**
 * Module level, object literals of methods passed to code that runs at load: `define(Color, color,
 * { copy() {…}, … })`, `Object.assign(Foo.prototype, { … })`, `extend(Base, { … })`. Where the
 * running object ends up is the called code's business (a prototype, a registry), so the builder
 * cannot update it; but two kinds of change to such a literal leave the running object right:
 *  - `key: function (…) {…}` written `key(…) {…}` (or back): the same function value; its body,
 *    if it changed, is redirected by the functions phase like any other function's;
 *  - a property the fix adds (a new method, a new alias): new API, not installed on the running
 *    object (verdict `property-added-unused`, deferred to the next baseline) — provided no code the
 *    hotpatch runs reads a property of that name: the build checks that across the whole
 *    package's patch (build.ts, `property-added-needed` otherwise).
 * Any other difference (a changed value, a removed or reordered property) is left to the
 * ordinary verdicts.
 */

export interface AddedProperties {
  /** The running statement this one is, up to the changes above. */
  stmtA: AstNode;
  /** Its text as the statement comparison keys it. */
  textA: string;
  /** Properties of the fixed statement's literals that the running one lacks. */
  added: AstNode[];
}

/** Values a new property may have: evaluating them at load has no effect of its own. */
const QUIET_VALUES = new Set(['FunctionExpression', 'ArrowFunctionExpression', 'Identifier', 'Literal']);

const FUNCTION_TYPES = new Set(['FunctionExpression', 'ArrowFunctionExpression', 'FunctionDeclaration']);

/**
 * Whether the fixed statement `stmtB` is one of the candidate running statements up to method
 * syntax and added properties (see above). `candidates`: running statements not yet paired, by text.
 */
export function withAddedProperties(
  ctx: DiffContext,
  pair: UnitPair,
  stmtB: AstNode,
  candidates: Array<{ stmt: AstNode; text: string }>,
): AddedProperties | null {
  if (stmtB.type !== 'ExpressionStatement' || (stmtB.expression as AstNode).type !== 'CallExpression')
    return null;
  const literalsB = objectLiterals(stmtB);
  if (literalsB.length === 0) return null;
  for (const { stmt: stmtA, text: textA } of candidates) {
    if (stmtA.type !== 'ExpressionStatement' || (stmtA.expression as AstNode).type !== 'CallExpression')
      continue;
    const literalsA = objectLiterals(stmtA);
    if (literalsA.length !== literalsB.length) continue;
    const keysA = new Set(literalsA.flatMap((o) => (o.properties as AstNode[]).map(keyOf)));
    const added = literalsB.flatMap((o) => (o.properties as AstNode[]).filter((p) => !keysA.has(keyOf(p))));
    if (!added.every(isQuietProperty)) continue;
    const a = normalized(ctx, 'A', pair.ua, stmtA, []);
    const b = normalized(ctx, 'B', pair.ub, stmtB, added);
    if (a === b) return { stmtA, textA, added };
  }
  return null;
}

/** A property's key as written (`k`, `'k'` → k), or a marker that matches nothing for computed ones. */
export function keyOf(p: AstNode): string {
  if (p.type !== 'Property' || p.computed) return `\u0000${p.start}`;
  const k = p.key as AstNode;
  return (k.type === 'Identifier' ? k.name : String(k.value)) as string;
}

function isQuietProperty(p: AstNode): boolean {
  if (p.type !== 'Property' || p.computed || p.kind !== 'init') return false;
  const k = p.key as AstNode;
  if (k.type !== 'Identifier' && !(k.type === 'Literal' && typeof k.value === 'string')) return false;
  const v = p.value as AstNode;
  return QUIET_VALUES.has(v.type) && !(v.type === 'Literal' && 'regex' in v);
}

/**
 * The statement's tokens with nested functions as their keys, without the `:` of a
 * `key: function` property (so that it reads as the method `key()`), without the `added`
 * properties, and with commas left dangling by them dropped.
 */
function normalized(ctx: DiffContext, side: 'A' | 'B', unit: Unit, stmt: AstNode, added: AstNode[]): string {
  const a = side === 'A' ? ctx.A : ctx.B;
  const holes = [
    ...added.map((p) => ({ start: p.start, end: p.end, label: '' })),
    ...objectLiterals(stmt).flatMap((o) =>
      (o.properties as AstNode[])
        .filter(
          (p) =>
            p.type === 'Property' &&
            !p.method &&
            !p.computed &&
            (p.value as AstNode).type === 'FunctionExpression' &&
            !(p.value as AstNode).async &&
            !(p.value as AstNode).generator,
        )
        .map((p) => ({ start: (p.key as AstNode).end, end: (p.value as AstNode).start, label: '' })),
    ),
  ];
  const toks = ctx.tokens(a, stmt.start, stmt.end, nestedIn(ctx, side, unit, stmt), holes);
  const out: string[] = [];
  for (const t of toks) {
    const last = out[out.length - 1];
    if (t === ',' && (last === ',' || last === '{')) continue;
    if (t === '}' && last === ',') out.pop();
    out.push(t);
  }
  return out.join(' ');
}

/** Object literals in `node` outside nested functions (they are code that runs later). */
function objectLiterals(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const visit = (n: AstNode, top: boolean): void => {
    if (!top && FUNCTION_TYPES.has(n.type)) return;
    if (n.type === 'ObjectExpression') out.push(n);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'loc' || k === 'range') continue;
      if (Array.isArray(v)) {
        for (const x of v) if (x && typeof x === 'object' && typeof x.type === 'string') visit(x, false);
      } else if (v && typeof v === 'object' && typeof (v as AstNode).type === 'string')
        visit(v as AstNode, false);
    }
  };
  visit(node, true);
  return out;
}
