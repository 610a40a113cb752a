import type { AstNode, Variable } from '@hotpatch/instrument';
import { type DiffContext, sameTokens } from './context.js';
import { declaratorOf, type Load, loadTimeCalls, nestedIn, patternMember, varOf } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { innermostFunction, lineOf } from './scope.js';
import type { Decl } from './units.js';

/**
 * Module level, objects: a module-level object literal whose properties the fix changes (or that
 * changed code computes at load) is updated in place on the running object, so that everything
 * holding it sees the change — unless load-time code copied or derived from it.
 */

/** An object literal's own `key: value` properties by key; null if it has any other kind. */
export function plainProperties(o: AstNode): Map<string, AstNode> | null {
  const m = new Map<string, AstNode>();
  for (const p of o.properties as AstNode[]) {
    // Methods are kept as they are (the functions phase redirects a changed one's body).
    if (p.type !== 'Property' || p.computed || p.kind !== 'init') return null;
    const k = p.key as AstNode;
    m.set((k.type === 'Identifier' ? k.name : String(k.value)) as string, p.value as AstNode);
  }
  return m;
}

/** The properties of `after` whose value is new or differs from the one in `before`. */
export function changedProperties(
  ctx: DiffContext,
  pair: UnitPair,
  before: Map<string, AstNode>,
  after: Map<string, AstNode>,
  stale: (value: AstNode) => boolean = () => false,
): Array<[string, AstNode]> {
  const { A, B } = ctx;
  return [...after].filter(([key, value]) => {
    const old = before.get(key);
    if (stale(value)) return true;
    return !(
      old &&
      sameTokens(
        ctx.tokens(A, old.start, old.end, nestedIn(ctx, 'A', pair.ua, old)),
        ctx.tokens(B, value.start, value.end, nestedIn(ctx, 'B', pair.ub, value)),
      )
    );
  });
}

/** `{ … }` or `Object.freeze({ … })` (rollup's namespace objects): the literal, and whether frozen. */
function objectLiteral(init: AstNode | null): { literal: AstNode; frozen: boolean } | null {
  if (init?.type === 'ObjectExpression') return { literal: init, frozen: false };
  if (init?.type !== 'CallExpression' || (init.arguments as AstNode[]).length !== 1) return null;
  const callee = init.callee as AstNode;
  const arg = (init.arguments as AstNode[])[0]!;
  const isFreeze =
    callee.type === 'MemberExpression' &&
    !callee.computed &&
    (callee.object as AstNode).type === 'Identifier' &&
    (callee.object as AstNode).name === 'Object' &&
    (callee.property as AstNode).name === 'freeze';
  return isFreeze && arg.type === 'ObjectExpression' ? { literal: arg, frozen: true } : null;
}

/**
 * A changed object literal bound once (`const options = { … }`, never reassigned): its new and
 * changed properties are set, and the ones the fix removed deleted, on the running object at
 * apply, so everything that holds it (an ES module's importers, CommonJS callers that kept it,
 * closures) sees the fixed object, which a new value in a cell would not give them. A frozen one
 * (`Object.freeze({ … })`, e.g. a bundler's namespace object) cannot change: only a fix that just
 * drops properties naming declarations the fix removed leaves it as it is (those stay unused).
 */
export function objectInPlace(
  ctx: DiffContext,
  pair: UnitPair,
  name: string,
  da: Decl,
  db: Decl,
  out: ModuleLevel,
  load: Load,
): boolean {
  if (patternMember(da, name) !== null || patternMember(db, name) !== null) return false;
  // Module-level objects only: inside a run-once wrapper (UMD, IIFE) the declaration's own
  // identifier cannot be the target a migration reaches through the wrapper's scope accessor.
  if (pair.ub.fn !== null) return false;
  const id = declaratorOf(db, name)?.id as AstNode | undefined;
  const a = objectLiteral(da.init);
  const b = objectLiteral(db.init);
  if (id?.type !== 'Identifier' || !a || !b || a.frozen !== b.frozen) return false;
  const before = plainProperties(a.literal);
  const after = plainProperties(b.literal);
  if (!before || !after) return false;
  const v = varOf(ctx, 'B', pair.ub, name);
  if (!v || derivedAtLoad(ctx, pair, v, db)) return false; // a cell, with what it derives rebuilt or refused
  // A property whose value changed code computes at load (`{ limit: make() }`) is changed too.
  const changed = changedProperties(
    ctx,
    pair,
    before,
    after,
    (value) => loadTimeCalls(load, value).length > 0,
  );
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const methods = new Set(
    [a.literal, b.literal].flatMap((o) =>
      (o.properties as AstNode[]).filter((p) => p.method).map((p) => p.value),
    ),
  );
  if (changed.some(([, value]) => methods.has(value)) || removed.some((k) => methods.has(before.get(k))))
    return false; // a new, changed or removed method: a cell, as before

  const line = lineOf(ctx.B.source, db.stmt.start);
  if (a.frozen) {
    const gone = (k: string) => {
      const v = before.get(k)!;
      return (
        v.type === 'Identifier' && !pair.ub.decls.has(v.name as string) && pair.ua.decls.has(v.name as string)
      );
    };
    if (changed.length > 0 || !removed.every(gone)) return false;
    for (const k of removed) ctx.note('removed-statement', `${name}.${k}`, { where: pair.where }, line);
    return true;
  }
  const patch = (kind: 'assign' | 'delete', key: string, value: AstNode, valueText?: string) =>
    out.statements.push({
      kind,
      target: id,
      key: JSON.stringify(key),
      value,
      ...(valueText === undefined ? {} : { valueText }),
      name: `${name}.${key}${kind === 'delete' ? ' (removed)' : ''}`,
      unit: pair.ub.fn,
      line: lineOf(ctx.B.source, value.start),
      inPlace: true,
    });
  for (const [key, value] of changed) patch('assign', key, value);
  for (const key of removed) patch('delete', key, id, 'void 0');
  return true;
}

/**
 * Whether code that runs at load, besides the declaration, reads the object: a copy or a value
 * derived from it then (marked's `block.normal = merge({}, block)`, validator's alias exported as
 * another name) would keep the old properties. Plain aliases (`exports.x = name`,
 * `export { name }`) hold the object itself and see it change.
 */
export function derivedAtLoad(ctx: DiffContext, pair: UnitPair, v: Variable, db: Decl): boolean {
  for (const r of v.references) {
    const pos = r.identifier.start;
    if (pos >= db.stmt.start && pos < db.stmt.end) continue;
    const f = innermostFunction(ctx.B, pos);
    if (f && f !== pair.ub.fn && !f.once) continue; // runs later, reading the object as it is then
    const stmt = pair.ub.body.find((x) => x.start <= pos && pos < x.end);
    if (stmt && isPlainAlias(stmt, v.name)) continue;
    return true;
  }
  return false;
}

function isPlainAlias(stmt: AstNode, name: string): boolean {
  if (stmt.type === 'ExportNamedDeclaration') return stmt.declaration == null && stmt.source == null;
  if (stmt.type === 'ExportDefaultDeclaration')
    return (stmt.declaration as AstNode).type === 'Identifier' && (stmt.declaration as AstNode).name === name;
  if (stmt.type !== 'ExpressionStatement') return false;
  const e = stmt.expression as AstNode;
  return (
    e.type === 'AssignmentExpression' &&
    e.operator === '=' &&
    (e.left as AstNode).type === 'MemberExpression' &&
    (e.right as AstNode).type === 'Identifier' &&
    (e.right as AstNode).name === name
  );
}
