import type { AstNode } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { varOf } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { changedProperties, plainProperties } from './objects.js';
import { otherStateFilled } from './rebuild.js';
import { declaringFunction, isReassigned, lineOf } from './scope.js';
import { calleeName, isPureExpr } from './units.js';

/**
 * Module level, changed statements: module-level assignments and property definitions are re-run
 * at apply with the fixed value (Migration assign/define); load-time code that only fills cells
 * runs again (rebuild.ts); any other changed side effect needs a restart.
 */

export function statementName(ctx: DiffContext, stmt: AstNode): string {
  return ctx.B.source.slice(stmt.start, Math.min(stmt.end, stmt.start + 60)).replace(/\s+/g, ' ');
}

export function changedStatement(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
  why: string[],
): void {
  const { B } = ctx;
  const { where } = pair;
  const line = lineOf(B.source, stmt.start);
  const name = statementName(ctx, stmt);
  const sideEffect = () =>
    why.length
      ? ctx.refuse('changed-at-load', name, { where, detail: why.join(', ') }, line)
      : ctx.refuse('side-effect-changed', name, { where }, line);
  if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportAllDeclaration') {
    ctx.note('export-added-unused', name, { where }, line);
    return;
  }
  if (stmt.type === 'ExportDefaultDeclaration') {
    ctx.refuse('export-changed', name, { where, detail: 'a changed default export' }, line);
    return;
  }
  if (stmt.type !== 'ExpressionStatement') {
    if (!rerun(ctx, pair, stmt, out)) sideEffect();
    return;
  }
  const e = stmt.expression as AstNode;
  if (e.type === 'AssignmentExpression' && e.operator === '=') {
    assignment(ctx, pair, stmt, e, execA, out);
    return;
  }
  if (e.type === 'CallExpression' && calleeName(e.callee as AstNode) === 'Object.defineProperty') {
    const [target, key, descriptor] = e.arguments as AstNode[];
    if (target && key?.type === 'Literal' && descriptor && isStateRoot(ctx, target)) {
      out.statements.push({
        kind: 'define',
        target,
        key: JSON.stringify(String(key.value)),
        value: descriptor,
        name: `${B.source.slice(target.start, target.end)}.${String(key.value)}`,
        unit: pair.ub.fn,
        line,
      });
      return;
    }
  }
  if (!rerun(ctx, pair, stmt, out)) sideEffect();
}

/** An unchanged declaration that can be made anew at apply: a value nothing reassigns, initialised once. */
function rebuildable(ctx: DiffContext, pair: UnitPair, name: string): boolean {
  const d = pair.ub.decls.get(name);
  const v = varOf(ctx, 'B', pair.ub, name);
  return (
    !!d && !!v && !!d.init && d.kind !== 'function' && d.init.type !== 'ClassDeclaration' && !isReassigned(v)
  );
}

/** Load-time code that only fills cells runs again at apply (rebuild.ts). */
export function rerun(ctx: DiffContext, pair: UnitPair, stmt: AstNode, out: ModuleLevel): boolean {
  if (stmt.type.startsWith('Export') || stmt.type === 'ImportDeclaration') return false;
  const others = otherStateFilled(ctx, stmt, (v) => out.cells.has(v));
  if (others === null) return false;
  if (others.length) {
    // Tables filled together with changed ones: rebuilt too, when they can be made anew.
    const names = others.map((v) => v.name);
    if (!names.every((n) => rebuildable(ctx, pair, n))) return false;
    for (const n of names) out.promote.add(n);
    return true;
  }
  out.statements.push({
    kind: 'rerun',
    target: null,
    key: '',
    value: stmt,
    name: statementName(ctx, stmt),
    unit: pair.ub.fn,
    line: lineOf(ctx.B.source, stmt.start),
  });
  return true;
}

/** `exports.x = …`, `module.exports.x = …`, `Foo.prototype.x = …`: re-run at apply with the new value. */
function assignment(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  e: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
): void {
  const { B } = ctx;
  const { where } = pair;
  const line = lineOf(B.source, stmt.start);
  const name = statementName(ctx, stmt);
  const targets: AstNode[] = [];
  let value: AstNode = e;
  while (value.type === 'AssignmentExpression' && value.operator === '=') {
    targets.push(value.left as AstNode);
    value = value.right as AstNode;
  }
  const isVoid =
    (value.type === 'UnaryExpression' &&
      value.operator === 'void' &&
      isPureExpr(value.argument as AstNode, new Set())) ||
    (value.type === 'Identifier' && value.name === 'undefined');
  if (isVoid && targets.every((t) => t.type === 'MemberExpression')) {
    // tsc's `exports.a = exports.b = void 0;`: slots for exports assigned later; nothing to carry.
    ctx.note('export-added-unused', name, { where }, line);
    return;
  }
  if (targets.length !== 1) {
    ctx.refuse('side-effect-changed', name, { where }, line);
    return;
  }
  const target = targets[0]!;
  if (isModuleExports(target)) {
    if (value.type !== 'ObjectExpression') {
      ctx.refuse('export-changed', name, { where, detail: "it replaces the module's exports object" }, line);
      return;
    }
    exportsObject(ctx, pair, stmt, value, execA, out);
    return;
  }
  if (enumMember(ctx, pair, target, value, out, line)) return;
  if (target.type !== 'MemberExpression' || !isStateRoot(ctx, target)) {
    ctx.refuse('side-effect-changed', name, { where }, line);
    return;
  }
  const property = target.property as AstNode;
  out.statements.push({
    kind: 'assign',
    target: target.object as AstNode,
    key: target.computed ? B.source.slice(property.start, property.end) : JSON.stringify(property.name),
    value,
    name: B.source.slice(target.start, target.end),
    unit: pair.ub.fn,
    line,
  });
}

/**
 * A TypeScript enum member as tsc compiles it, `E[E["K"] = 6] = "K"`: two plain assignments on
 * the enum object (name → value, value → name), re-run at apply.
 */
function enumMember(
  ctx: DiffContext,
  pair: UnitPair,
  target: AstNode,
  value: AstNode,
  out: ModuleLevel,
  line: number,
): boolean {
  const inner = target.property as AstNode;
  if (target.type !== 'MemberExpression' || !target.computed || inner.type !== 'AssignmentExpression')
    return false;
  const left = inner.left as AstNode;
  const number = inner.right as AstNode;
  const object = target.object as AstNode;
  if (
    inner.operator !== '=' ||
    left.type !== 'MemberExpression' ||
    !left.computed ||
    (left.property as AstNode).type !== 'Literal' ||
    number.type !== 'Literal' ||
    value.type !== 'Literal' ||
    object.type !== 'Identifier' ||
    (left.object as AstNode).type !== 'Identifier' ||
    (left.object as AstNode).name !== object.name ||
    !isStateRoot(ctx, left)
  )
    return false;
  const { B } = ctx;
  const text = (n: AstNode) => B.source.slice(n.start, n.end);
  const name = `${object.name}[${text(left.property as AstNode)}]`;
  const common = { kind: 'assign' as const, target: left.object as AstNode, unit: pair.ub.fn, line };
  out.statements.push({ ...common, key: text(left.property as AstNode), value: number, name });
  out.statements.push({ ...common, key: text(number), value, name: `${object.name}[${text(number)}]` });
  return true;
}

function isModuleExports(n: AstNode): boolean {
  return (
    n.type === 'MemberExpression' &&
    !n.computed &&
    (n.object as AstNode).type === 'Identifier' &&
    (n.object as AstNode).name === 'module' &&
    (n.property as AstNode).name === 'exports'
  );
}

/** Member targets rooted in module state: `exports`, `module.exports`, or a binding of the module or of a run-once unit. */
function isStateRoot(ctx: DiffContext, target: AstNode): boolean {
  let root = target;
  while (root.type === 'MemberExpression') {
    if (root.computed && (root.property as AstNode).type !== 'Literal') return false;
    root = root.object as AstNode;
  }
  if (root.type !== 'Identifier') return false;
  const name = root.name as string;
  if (ctx.input.sourceType === 'commonjs' && (name === 'exports' || name === 'module')) return true;
  for (const s of ctx.B.scopes.scopes) {
    const ref = s.references.find((r) => r.identifier.start === root.start);
    if (!ref) continue;
    const v = ref.resolved;
    if (!v) return false;
    const at = declaringFunction(ctx.B, v);
    return at === null || (at !== 'block' && at.once);
  }
  return false;
}

/** `module.exports = { … }` changed: new or changed properties are assigned on the running exports object. */
function exportsObject(
  ctx: DiffContext,
  pair: UnitPair,
  stmt: AstNode,
  obj: AstNode,
  execA: AstNode[],
  out: ModuleLevel,
): void {
  const { B } = ctx;
  const line = lineOf(B.source, stmt.start);
  const objA = execA
    .map((s) => (s.type === 'ExpressionStatement' ? (s.expression as AstNode) : null))
    .find((x) => x?.type === 'AssignmentExpression' && isModuleExports(x.left as AstNode))?.right as
    | AstNode
    | undefined;
  const before = objA?.type === 'ObjectExpression' ? plainProperties(objA) : null;
  const after = plainProperties(obj);
  if (!before || !after) {
    ctx.refuse(
      'export-changed',
      statementName(ctx, stmt),
      { where: pair.where, detail: 'a changed exports object' },
      line,
    );
    return;
  }
  for (const [key, value] of changedProperties(ctx, pair, before, after))
    out.statements.push({
      kind: 'assign',
      target: null,
      targetText: 'module.exports',
      key: JSON.stringify(key),
      value,
      name: `module.exports.${key}`,
      unit: pair.ub.fn,
      line: lineOf(B.source, value.start),
    });
  for (const key of before.keys())
    if (!after.has(key)) ctx.note('removed-statement', `module.exports.${key}`, { where: pair.where }, line);
}
