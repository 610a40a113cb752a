import { type AstNode, bindingNames, type FunctionInfo, type Variable } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import type { LoadCalls } from './load-calls.js';
import { resolveFrom } from './paths.js';
import { bodyStatements, type Decl, type Unit } from './units.js';

/**
 * What the module-level phase (module-level.ts) and its passes (declarations, statements, classes,
 * objects) share: what code that runs at load calls that the fix changed, and where a unit's
 * bindings and nested functions are.
 */

/** Changed functions, and who calls them at load. */
export interface Load {
  calls: LoadCalls;
  changed: Set<FunctionInfo>;
  /** B's run-once functions examined in a pass of their own. */
  units: Set<AstNode>;
  /** A changed function's name in messages (its key in the running version). */
  nameOf: (f: FunctionInfo) => string;
}

/**
 * What code that runs at load in `node` calls that the fix changed (`calls f`, `calls into
 * file.js`): functions of this module and changed sibling files. For a class: its heritage and
 * static members (methods and instance fields run later). `units`: run-once functions not to
 * follow (LoadCalls.reached).
 */
export function loadTimeCalls(load: Load, node: AstNode, units?: ReadonlySet<AstNode>): string[] {
  if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') {
    const parts = [
      ...(node.superClass ? [node.superClass as AstNode] : []),
      ...((node.body as AstNode).body as AstNode[]).filter(
        (m) => (m.static && m.type !== 'MethodDefinition') || m.type === 'StaticBlock' || m.computed,
      ),
    ];
    return parts.flatMap((p) => loadTimeCalls(load, p));
  }
  return [
    ...load.calls.reached(node, load.changed, units).map((f) => `calls ${load.nameOf(f)}`),
    ...load.calls.reachedFiles(node, units).map((file) => `calls into ${file}`),
  ];
}

/** `f(…)`, `(function () {…})()`, `!function () {…}()`: a call whose value is dropped. */
export function isCall(e: AstNode): boolean {
  if (e.type === 'UnaryExpression' && e.operator !== 'delete') return isCall(e.argument as AstNode);
  return e.type === 'CallExpression';
}

export function varOf(ctx: DiffContext, side: 'A' | 'B', unit: Unit, name: string): Variable | undefined {
  const a = side === 'A' ? ctx.A : ctx.B;
  const scope = unit.fn ? a.scopeOf.get(unit.fn.node) : a.moduleScope;
  return scope?.set.get(name);
}

/** Functions directly inside `node` that belong to the unit (their bodies are diffed on their own). */
export function nestedIn(ctx: DiffContext, side: 'A' | 'B', unit: Unit, node: AstNode): FunctionInfo[] {
  const a = side === 'A' ? ctx.A : ctx.B;
  const inside = (f: FunctionInfo) => f.node.start >= node.start && f.node.end <= node.end;
  const hosted = (f: FunctionInfo | null): boolean =>
    f?.once === true && inside(f) && hostedBy(ctx, side, f) !== null;
  return a.functions.filter((f) => inside(f) && !hosted(f) && (f.parent === unit.fn || hosted(f.parent)));
}

/**
 * The module-level assignment whose value an IIFE computes (`exports.x = (function () { … })()`),
 * if that is where it stands: its own code belongs to the statement, re-run at apply as a whole.
 */
export function hostedBy(ctx: DiffContext, side: 'A' | 'B', f: FunctionInfo): AstNode | null {
  const a = side === 'A' ? ctx.A : ctx.B;
  let owner: FunctionInfo = f;
  while (owner.parent?.once) owner = owner.parent;
  if (!owner.once) return null;
  const stmt = bodyStatements(a, owner.parent).find((s) => s.start <= f.node.start && f.node.end <= s.end);
  if (!stmt || stmt.type !== 'ExpressionStatement') return null;
  const e = stmt.expression as AstNode;
  if (e.type !== 'AssignmentExpression' || (e.left as AstNode).type !== 'MemberExpression') return null;
  const right = e.right as AstNode;
  return right.start <= f.node.start && f.node.end <= right.end ? stmt : null;
}

/** The changed package file (not this one) a relative specifier of this file names, if calling its export `name` may run changed code. */
export function changedSiblingOf(ctx: DiffContext): (spec: string, name: string) => string | null {
  const files = ctx.input.changedFiles;
  const here = ctx.input.path;
  return (spec, name) => {
    const file = files ? resolveFrom(here, spec, files) : null;
    const changes = file === null || file === here ? undefined : files!.get(file);
    return changes && (changes === 'all' || name === '*' || changes.has(name)) ? file : null;
  };
}

/** The binding pattern of a declaration: `const x = …` (null), `const { a: x } = …` ('a'), or false. */
export function patternMember(d: Decl, name: string): string | null | false {
  if (d.stmt.type !== 'VariableDeclaration' && d.stmt.type !== 'ExportNamedDeclaration') return null;
  const decl = declaratorOf(d, name);
  if (!decl) return null;
  const id = decl.id as AstNode;
  if (id.type === 'Identifier') return null;
  if (id.type !== 'ObjectPattern') return false;
  for (const p of id.properties as AstNode[]) {
    if (p.type !== 'Property' || p.computed) return false;
    const value = p.value as AstNode;
    if (value.type !== 'Identifier') return false;
    if (value.name === name) {
      const key = p.key as AstNode;
      return (key.type === 'Identifier' ? key.name : key.value) as string;
    }
  }
  return false;
}

export function declaratorOf(d: Decl, name: string): AstNode | null {
  const stmt = d.stmt.type === 'ExportNamedDeclaration' ? (d.stmt.declaration as AstNode) : d.stmt;
  if (stmt.type !== 'VariableDeclaration') return null;
  return (stmt.declarations as AstNode[]).find((x) => bindingNames(x.id as AstNode).includes(name)) ?? null;
}
