import {
  type AstNode,
  type FunctionInfo,
  type ModuleAnalysis,
  type SourceType,
  tokenTexts,
} from '@hotpatch/instrument';
import { analyzePair } from './exports.js';
import { LoadCalls } from './load-calls.js';

/**
 * Which exports of a changed file can give another file a different result when it calls them at
 * load: `all`, or the export names (`module` for the module itself: `require('./x')()`, a default
 * export). An export is unchanged when the function it names, and every function of the file it
 * calls, have the same code in both versions and read no module-level binding the fix changed.
 * Anything this cannot see through (changed top-level statements, an export that is not a
 * function, calls into other files) counts as changed.
 */
export type ExportChanges = 'all' | ReadonlySet<string>;

export function exportChanges(oldSource: string, newSource: string, sourceType: SourceType): ExportChanges {
  const pair = analyzePair(oldSource, newSource, sourceType);
  return pair ? exportChangesOf(...pair) : 'all';
}

/** exportChanges of two analysed versions. */
export function exportChangesOf(A: ModuleAnalysis, B: ModuleAnalysis): ExportChanges {
  const changedVars = changedDeclarations(A, B);
  if (changedVars === null) return 'all';
  const byKeyA = new Map(A.functions.map((f) => [f.key, f]));
  const changedFns = new Set(
    B.functions.filter((f) => {
      const fa = byKeyA.get(f.key);
      return !fa || !same(tokenTexts(A, fa.node.start, fa.node.end), tokenTexts(B, f.node.start, f.node.end));
    }),
  );
  const calls = new LoadCalls(B, (spec) => (spec.startsWith('.') ? spec : null)); // any other file: changed
  const readsChanged = (f: FunctionInfo) => readsAny(B, f, changedVars);
  const out = new Set<string>();
  for (const [name, target] of exportTargets(B)) {
    const f = target ? B.functions.find((g) => g.node === target) : undefined;
    if (!f) {
      out.add(name);
      continue;
    }
    const reach = [f, ...calls.reached(f.node, new Set(B.functions))];
    if (reach.some((g) => changedFns.has(g) || readsChanged(g)) || calls.reachedFiles(f.node).length > 0)
      out.add(name);
  }
  return out;
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** Outermost functions that are not run-once wrappers: their code is compared on its own. */
function holes(a: ModuleAnalysis): Array<{ start: number; end: number; label: string }> {
  return a.functions
    .filter((f) => !f.once && (f.parent === null || f.parent.once))
    .map((f) => ({ start: f.node.start, end: f.node.end, label: `ƒ${f.key}` }));
}

/**
 * Names of module-level declarations whose code (functions aside) differs or that are new; null
 * when a top-level statement other than a declaration changed (its effect is not tracked here).
 */
function changedDeclarations(A: ModuleAnalysis, B: ModuleAnalysis): Set<string> | null {
  const decls = (a: ModuleAnalysis) => {
    const h = holes(a);
    const byName = new Map<string, string>();
    const others: string[] = [];
    for (const stmt of a.ast.body as AstNode[]) {
      const decl = stmt.type.startsWith('Export') && stmt.declaration ? (stmt.declaration as AstNode) : stmt;
      const text = tokenTexts(a, stmt.start, stmt.end, h).join(' ');
      if (decl.type === 'VariableDeclaration')
        for (const d of decl.declarations as AstNode[])
          for (const n of namesOf(d.id as AstNode)) byName.set(n, text);
      else if (decl.type === 'ClassDeclaration' && decl.id)
        byName.set((decl.id as AstNode).name as string, text);
      else if (decl.type !== 'FunctionDeclaration') others.push(text);
    }
    return { byName, others: others.sort().join('\n') };
  };
  const da = decls(A);
  const db = decls(B);
  if (da.others !== db.others) return null;
  return new Set([...db.byName].filter(([n, t]) => da.byName.get(n) !== t).map(([n]) => n));
}

function namesOf(id: AstNode): string[] {
  if (id.type === 'Identifier') return [id.name as string];
  if (id.type === 'ObjectPattern')
    return (id.properties as AstNode[]).flatMap((p) =>
      namesOf((p.type === 'RestElement' ? p.argument : p.value) as AstNode),
    );
  if (id.type === 'ArrayPattern')
    return (id.elements as Array<AstNode | null>).flatMap((e) => (e ? namesOf(e) : []));
  if (id.type === 'AssignmentPattern') return namesOf(id.left as AstNode);
  if (id.type === 'RestElement') return namesOf(id.argument as AstNode);
  return [];
}

/** Whether `f`'s own code reads a module-level binding among `names`. */
function readsAny(a: ModuleAnalysis, f: FunctionInfo, names: Set<string>): boolean {
  if (names.size === 0) return false;
  for (const s of a.scopes.scopes)
    for (const r of s.references) {
      const v = r.resolved;
      if (!v || v.scope !== a.moduleScope || !names.has(v.name)) continue;
      if (r.identifier.start >= f.node.start && r.identifier.end <= f.node.end) return true;
    }
  return false;
}

/** Export name → the node of the function it names (null when not a function of this file). */
function exportTargets(a: ModuleAnalysis): Map<string, AstNode | null> {
  const out = new Map<string, AstNode | null>();
  const functionOf = (n: AstNode | null | undefined): AstNode | null => {
    if (!n) return null;
    if (a.functions.some((f) => f.node === n)) return n;
    if (n.type !== 'Identifier') return null;
    const v = a.moduleScope.set.get(n.name as string);
    const def = v?.defs[0];
    if (!def) return null;
    const node = def.node as unknown as AstNode;
    if (def.type === 'FunctionName') return node;
    if (def.type === 'Variable' && node.init && a.functions.some((f) => f.node === node.init))
      return node.init as AstNode;
    return null;
  };
  const exportsMember = (n: AstNode): string | null => {
    if (n.type !== 'MemberExpression' || n.computed) return null;
    const o = n.object as AstNode;
    const isExports =
      (o.type === 'Identifier' && o.name === 'exports') ||
      (o.type === 'MemberExpression' &&
        (o.object as AstNode).type === 'Identifier' &&
        (o.object as AstNode).name === 'module' &&
        (o.property as AstNode).name === 'exports');
    return isExports ? ((n.property as AstNode).name as string) : null;
  };
  for (const stmt of a.ast.body as AstNode[]) {
    if (stmt.type === 'ExportNamedDeclaration') {
      const d = stmt.declaration as AstNode | null;
      if (d?.type === 'FunctionDeclaration') out.set((d.id as AstNode).name as string, d);
      else if (d?.type === 'VariableDeclaration')
        for (const x of d.declarations as AstNode[])
          for (const n of namesOf(x.id as AstNode)) out.set(n, functionOf(x.init as AstNode | null));
      else if (d) for (const n of namesOf((d.id as AstNode) ?? { type: 'None' })) out.set(n, null);
      for (const s of (stmt.specifiers as AstNode[]) ?? []) {
        const exported = s.exported as AstNode;
        const name = (exported.name ?? String(exported.value)) as string;
        out.set(name, stmt.source ? null : functionOf(s.local as AstNode));
      }
      continue;
    }
    if (stmt.type === 'ExportDefaultDeclaration') {
      out.set('module', functionOf(stmt.declaration as AstNode));
      continue;
    }
    if (stmt.type !== 'ExpressionStatement') continue;
    const e = stmt.expression as AstNode;
    if (e.type !== 'AssignmentExpression' || e.operator !== '=') continue;
    const left = e.left as AstNode;
    const right = e.right as AstNode;
    const name = exportsMember(left);
    if (name) out.set(name, functionOf(right));
    else if (
      left.type === 'MemberExpression' &&
      (left.object as AstNode).type === 'Identifier' &&
      (left.object as AstNode).name === 'module' &&
      (left.property as AstNode).name === 'exports'
    ) {
      // An object literal is not called itself: its properties are the exports.
      if (right.type !== 'ObjectExpression') out.set('module', functionOf(right));
      else
        for (const p of right.properties as AstNode[])
          if (p.type === 'Property' && !p.computed) {
            const k = p.key as AstNode;
            out.set((k.name ?? String(k.value)) as string, functionOf(p.value as AstNode));
          }
    }
  }
  return out;
}
