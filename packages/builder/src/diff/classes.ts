import { type AstNode, childrenOf } from '@hotpatch/instrument';
import { type DiffContext, sameTokens } from './context.js';
import { type Load, loadTimeCalls, nestedIn } from './load-time.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { declaringFunction, lineOf } from './scope.js';
import type { Decl } from './units.js';

/**
 * Module level, classes: a class the fix changed beyond its methods' bodies, or whose static
 * members changed code computes at load. Live when it only gains methods, getters or setters
 * (defined on the running class at apply: instances made before the patch get them too) and its
 * static fields change (set, or deleted when removed); anything else is a restart.
 */
export function classChange(
  ctx: DiffContext,
  pair: UnitPair,
  da: Decl,
  db: Decl,
  out: ModuleLevel,
  load: Load,
  binding?: AstNode,
): void {
  const problem = classAdditions(ctx, pair, da, db, out, load, binding ?? (db.init!.id as AstNode | null));
  if (problem)
    ctx.refuse(
      'side-effect-changed',
      db.name,
      { where: `${pair.where} (class ${db.name}: ${problem})` },
      lineOf(ctx.B.source, db.init!.start),
    );
}

/** Statements defining the methods a class gained, or why the class change needs a restart. */
function classAdditions(
  ctx: DiffContext,
  pair: UnitPair,
  da: Decl,
  db: Decl,
  out: ModuleLevel,
  load: Load,
  target: AstNode | null,
): string | null {
  const { A, B } = ctx;
  const ca = da.init!;
  const cb = db.init!;
  const heritage = (a: typeof A, c: AstNode) =>
    c.superClass ? ctx.tokens(a, (c.superClass as AstNode).start, (c.superClass as AstNode).end) : [];
  const members = (c: AstNode) => (c.body as AstNode).body as AstNode[];
  const keyText = (a: typeof A, mbr: AstNode) =>
    mbr.type === 'StaticBlock'
      ? `static block ${members(a === A ? ca : cb)
          .filter((x) => x.type === 'StaticBlock')
          .indexOf(mbr)}`
      : `${mbr.static ? 'static ' : ''}${mbr.kind ?? ''} ${ctx.tokens(a, (mbr.key as AstNode).start, (mbr.key as AstNode).end).join(' ')}`;
  if (!sameTokens(heritage(A, ca), heritage(B, cb))) return 'its superclass changed';
  if (cb.superClass && loadTimeCalls(load, cb.superClass as AstNode).length)
    return 'its superclass is computed by code the fix changed';
  const before = new Map(members(ca).map((x) => [keyText(A, x), x]));
  for (const mb of members(cb)) {
    const k = keyText(B, mb);
    const ma = before.get(k);
    before.delete(k);
    // A static member's code runs at load: what it computed then came from the running code.
    const stale = mb.static && mb.type !== 'MethodDefinition' && loadTimeCalls(load, mb).length > 0;
    if (mb.type === 'StaticBlock' && loadTimeCalls(load, mb).length)
      return 'a static block runs code the fix changed';
    if (mb.computed && loadTimeCalls(load, mb.key as AstNode).length)
      return `the key of ${k.trim()} is computed by code the fix changed`;
    if (ma) {
      if (mb.type === 'MethodDefinition' && ma.type === 'MethodDefinition') continue; // bodies: functions phase
      const same = sameTokens(
        ctx.tokens(A, ma.start, ma.end, nestedIn(ctx, 'A', pair.ua, ma)),
        ctx.tokens(B, mb.start, mb.end, nestedIn(ctx, 'B', pair.ub, mb)),
      );
      if (same && !stale) continue;
      if (!isStaticField(mb) || !isStaticField(ma)) return `member ${k.trim()} changed`;
    }
    if (isStaticField(mb)) {
      // A new or changed static field (or one computed by changed code): its value set on the
      // running class at apply (a class's own data property either way), if it needs nothing a
      // static initializer alone has.
      const value = mb.value as AstNode | null;
      if (usesSuperOrPrivate(mb) || (value && usesThis(value)))
        return `new static field ${k.trim()} uses this, super or private members`;
      const v = B.moduleScope.set.get(db.name);
      if (!v || declaringFunction(B, v) !== null || !target) return 'not a module-level class';
      const key = memberKey(mb);
      if (ma)
        ctx.note('constant-changed', `${db.name}.${key}`, { where: pair.where }, lineOf(B.source, mb.start));
      out.statements.push({
        kind: 'assign',
        target,
        key: JSON.stringify(key),
        value: value ?? mb,
        ...(value ? {} : { valueText: 'void 0' }),
        name: `${db.name}.${key}`,
        unit: pair.ub.fn,
        line: lineOf(B.source, mb.start),
        inPlace: true,
      });
      continue;
    }
    // A new private method: no running instance can gain it, and no running code calls it; each
    // replacement that calls it inlines its code (privates.ts), and says so.
    if (
      mb.type === 'MethodDefinition' &&
      (mb.key as AstNode).type === 'PrivateIdentifier' &&
      mb.kind === 'method'
    )
      continue;
    // A new private instance field: running instances cannot gain one either; replacements keep it
    // beside each instance when its initializer allows (privates.ts), and say so.
    if (mb.type === 'PropertyDefinition' && !mb.static && (mb.key as AstNode).type === 'PrivateIdentifier')
      continue;
    if (mb.type !== 'MethodDefinition' || mb.computed || (mb.key as AstNode).type === 'PrivateIdentifier')
      return `new ${mb.type === 'MethodDefinition' ? 'private or computed method' : 'field or block'} ${k.trim()}`;
    if (usesSuperOrPrivate(mb)) return `new method ${k.trim()} uses super or private members`;
    const v = B.moduleScope.set.get(db.name);
    if (!v || declaringFunction(B, v) !== null || !target) return 'not a module-level class';
    const keyNode = mb.key as AstNode;
    const key = keyNode.type === 'Identifier' ? (keyNode.name as string) : String(keyNode.value);
    out.statements.push({
      kind: 'define',
      target,
      key: JSON.stringify(key),
      value: mb,
      descriptorOf: { member: mb, isStatic: Boolean(mb.static) },
      name: `${db.name}${mb.static ? '.' : '#'}${key}`,
      unit: pair.ub.fn,
      line: lineOf(B.source, mb.start),
    });
  }
  // Static fields the fix removed are deleted from the running class; other members stay a restart.
  for (const [k, ma] of before) {
    if (!isStaticField(ma)) return `member ${k.trim()} removed`;
    if (!target) return 'not a module-level class';
    const key = memberKey(ma);
    out.statements.push({
      kind: 'delete',
      target,
      key: JSON.stringify(key),
      value: target,
      valueText: 'void 0',
      name: `${db.name}.${key} (removed)`,
      unit: pair.ub.fn,
      line: lineOf(B.source, cb.start),
      inPlace: true,
    });
  }
  return null;
}

function isStaticField(m: AstNode): boolean {
  return (
    m.type === 'PropertyDefinition' &&
    Boolean(m.static) &&
    !m.computed &&
    (m.key as AstNode).type !== 'PrivateIdentifier'
  );
}

function memberKey(m: AstNode): string {
  const k = m.key as AstNode;
  return k.type === 'Identifier' ? (k.name as string) : String(k.value);
}

/** Whether `node` or anything inside it satisfies `test`. */
function hasNode(node: AstNode, test: (n: AstNode) => boolean): boolean {
  return test(node) || childrenOf(node).some((c) => hasNode(c, test));
}

const usesThis = (node: AstNode) => hasNode(node, (n) => n.type === 'ThisExpression');

const usesSuperOrPrivate = (node: AstNode) =>
  hasNode(node, (n) => n.type === 'Super' || n.type === 'PrivateIdentifier');
