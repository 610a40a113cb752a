import { type AstNode, isCaptured, type ModuleAnalysis } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { declaratorOf, patternMember, varOf } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { derivedAtLoad } from './objects.js';
import { freeRefs, lineOf } from './scope.js';
import type { Decl } from './units.js';

/**
 * Module level, regular expressions: a changed regular expression bound once (`const RE = /…/`,
 * never reassigned) is recompiled in place on the running RegExp object at apply
 * (`RegExp.prototype.compile`), so that everything holding that object sees the new pattern — its
 * importers (an ES module's export, a CommonJS `exports.RE`), copies taken at load, objects that
 * stored it (valibot's `emoji()` actions keep `requirement: EMOJI_REGEX`). A new value in a cell
 * would reach only this module's own code. Unless load-time code derived something from it (a
 * `new RegExp(RE.source + …)`), which would keep the old pattern: then it is a cell, as before.
 */
export function regexInPlace(
  ctx: DiffContext,
  pair: UnitPair,
  name: string,
  da: Decl,
  db: Decl,
  out: ModuleLevel,
): boolean {
  if (patternMember(da, name) !== null || patternMember(db, name) !== null) return false;
  const before = regexValue(ctx.A, da.init);
  const after = regexValue(ctx.B, db.init);
  const id = declaratorOf(db, name)?.id as AstNode | undefined;
  if (!before || !after || id?.type !== 'Identifier') return false;
  const v = varOf(ctx, 'B', pair.ub, name);
  if (!v || derivedAtLoad(ctx, pair, v, db)) return false;
  // Inside a run-once wrapper the migration reaches the variable through the wrapper's scope
  // accessor, which lists only the variables its closures keep.
  const va = varOf(ctx, 'A', pair.ua, ctx.m.rename(name));
  if (pair.ub.fn !== null && !(va && isCaptured(va))) return false;
  out.statements.push({
    kind: 'recompile',
    target: null,
    targetText: ctx.m.rename(name),
    key: '',
    value: after,
    previousText: ctx.A.source.slice(before.start, before.end),
    name,
    unit: pair.ub.fn,
    line: lineOf(ctx.B.source, db.stmt.start),
    inPlace: true,
  });
  return true;
}

/**
 * A regular expression whose pattern and flags the text fixes: a literal (`/a+/g`), or
 * `new RegExp('a+', 'g')` / `RegExp('a+')` with string literals and the global RegExp.
 */
export function regexValue(a: ModuleAnalysis, node: AstNode | null): AstNode | null {
  if (!node) return null;
  if (node.type === 'Literal' && node.regex) return node;
  if (node.type !== 'NewExpression' && node.type !== 'CallExpression') return null;
  const callee = node.callee as AstNode;
  const args = node.arguments as AstNode[];
  const strings = args.every((a) => a.type === 'Literal' && typeof a.value === 'string');
  // `RegExp` resolved to a declaration (a parameter, an import) is not the built-in.
  const global = !freeRefs(a, callee).some((r) => r.identifier.start === callee.start);
  return callee.type === 'Identifier' &&
    callee.name === 'RegExp' &&
    global &&
    strings &&
    args.length >= 1 &&
    args.length <= 2
    ? node
    : null;
}
