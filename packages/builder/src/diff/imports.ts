import { isBuiltin } from 'node:module';
import { type AstNode, bindingNames } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import type { ModuleLevel, UnitPair } from './module-level.js';
import { resolveFrom } from './paths.js';
import { lineOf } from './scope.js';

/**
 * Module level, ES module imports and exports: imports the fix adds become cells loaded at apply;
 * a changed import or a new import for its effects needs a restart.
 */

interface ImportBinding {
  source: string;
  imported: string | null; // null: namespace
}

function importBindings(body: AstNode[]): Map<string, ImportBinding & { node: AstNode }> {
  const out = new Map<string, ImportBinding & { node: AstNode }>();
  for (const stmt of body) {
    if (stmt.type !== 'ImportDeclaration') continue;
    const source = String((stmt.source as AstNode).value);
    for (const s of stmt.specifiers as AstNode[]) {
      const local = (s.local as AstNode).name as string;
      const imported =
        s.type === 'ImportNamespaceSpecifier'
          ? null
          : s.type === 'ImportDefaultSpecifier'
            ? 'default'
            : (((s.imported as AstNode).name ?? (s.imported as AstNode).value) as string);
      out.set(local, { source, imported, node: stmt });
    }
  }
  return out;
}

/** ES module imports the fix adds: loaded at apply (Migration import), read through a cell. */
export function imports(ctx: DiffContext, pair: UnitPair, out: ModuleLevel): void {
  const { B, m } = ctx;
  const before = importBindings(pair.ua.body);
  const after = importBindings(pair.ub.body);
  for (const [local, b] of after) {
    const a = before.get(m.rename(local));
    if (a && sameModule(a.source, b.source) && a.imported === b.imported) continue;
    const line = lineOf(B.source, b.node.start);
    if (a) {
      ctx.refuse(
        'dependency-unloadable',
        local,
        { where: pair.where, detail: `${local} now comes from ${b.source}` },
        line,
      );
      continue;
    }
    const v = B.moduleScope.set.get(local);
    if (!v) continue;
    // A binding a changed sibling of this patch newly exports: its cell, in the package's state.
    const sibling = b.source.startsWith('.')
      ? resolveSibling(ctx.input.path, b.source, ctx.input.newExports)
      : null;
    if (sibling && b.imported !== null && ctx.input.newExports?.get(sibling)?.has(b.imported)) {
      out.cells.set(v, {
        key: `${sibling}#${b.imported}`,
        name: local,
        init: null,
        shared: true,
        providedBy: sibling,
        unit: null,
        mutable: false,
        id: 'import-added',
        line,
        used: false,
      });
      continue;
    }
    out.cells.set(v, {
      key: `import:${b.source}`,
      name: local,
      init: null,
      importSpec: b.source,
      ...(b.imported === null ? {} : { member: b.imported }),
      unit: null,
      mutable: false,
      id: 'import-added',
      line,
      used: false,
    });
  }
  const sideEffects = (body: AstNode[]) =>
    body
      .filter((s) => s.type === 'ImportDeclaration' && (s.specifiers as AstNode[]).length === 0)
      .map((s) => String((s.source as AstNode).value));
  const had = new Set(sideEffects(pair.ua.body));
  for (const spec of sideEffects(pair.ub.body))
    if (!had.has(spec))
      ctx.refuse('dependency-unloadable', spec, {
        where: pair.where,
        detail: `import '${spec}' for its effects at load`,
      });
}

/** Two specifiers of one module: the same text, or one Node built-in with and without `node:` (`path`, `node:path`). */
export function sameModule(x: string, y: string): boolean {
  if (x === y) return true;
  const bare = (s: string) => s.replace(/^node:/, '');
  return bare(x) === bare(y) && isBuiltin(x) && isBuiltin(y);
}

/** The file of the patch a relative import names (path in the package), if it is one with new exports. */
function resolveSibling(
  from: string,
  spec: string,
  files: Map<string, Set<string>> | undefined,
): string | null {
  return files ? resolveFrom(from, spec, files) : null;
}

/** Local names an ES module body exports, with the names they are exported as. */
export function exportedLocals(body: AstNode[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const stmt of body) {
    if (stmt.type !== 'ExportNamedDeclaration' || stmt.source) continue;
    const decl = stmt.declaration as AstNode | null;
    if (decl) {
      const names =
        decl.type === 'VariableDeclaration'
          ? (decl.declarations as AstNode[]).flatMap((d) => bindingNames(d.id as AstNode))
          : decl.id
            ? [(decl.id as AstNode).name as string]
            : [];
      for (const n of names) out.set(n, n);
      continue;
    }
    for (const sp of stmt.specifiers as AstNode[]) {
      const local = sp.local as AstNode;
      const exported = sp.exported as AstNode;
      out.set(local.name as string, (exported.name ?? exported.value) as string);
    }
  }
  return out;
}
