import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FilePatch } from '@hotpatch/core';
import { type AstNode, parse } from '@hotpatch/instrument';
import { resolveFrom } from './diff/paths.js';
import { requiredSpec } from './diff/units.js';
import { isCode, isDocLike, sourceTypeOf } from './files.js';

/** A CommonJS export a patch gives a new value at apply, copied at load by another file of the package. */
export interface CopiedExport {
  /** The exporting file and the export's name. */
  file: string;
  name: string;
  /** The file that copied it into a binding of its own at load. */
  copiedBy: string;
}

/**
 * Exports a patch assigns again at apply (`exports.X = <new value>`) that another file copied at
 * load — `const { X } = require('./f')`, `const Y = require('./f').X`, or an ES module's named
 * import of the CommonJS file: that binding keeps the running value, so the exporting file's
 * "applied" would not be true for the package.
 */
export function copiedExports(
  dir: string,
  files: Set<string>,
  patches: FilePatch[],
  loaded: (file: string) => boolean,
  /** Bindings a file's own patch gives the new value (diff/context.ts importedConstants). */
  rebound: (file: string, local: string) => boolean,
): CopiedExport[] {
  const reassigned = new Map<string, Set<string>>();
  for (const p of patches) {
    const names = new Set<string>();
    for (const m of p.migrations)
      if (m.kind === 'assign' && (m.target === 'exports' || m.target === 'module.exports') && m.key)
        names.add(exportName(m.key));
    if (names.size) reassigned.set(p.path, names);
  }
  if (reassigned.size === 0) return [];
  const out: CopiedExport[] = [];
  for (const file of files) {
    if (!isCode(file) || isDocLike(file) || !loaded(file)) continue;
    const source = readFileSync(join(dir, file), 'utf8');
    if (!/require\s*\(|import\s/.test(source)) continue;
    let ast: AstNode;
    try {
      ast = parse(source, sourceTypeOf(dir, file, source));
    } catch {
      continue;
    }
    for (const [spec, name, local] of loadTimeCopies(ast.body as AstNode[])) {
      const from = resolveFrom(file, spec, files);
      if (from && from !== file && reassigned.get(from)?.has(name) && !rebound(file, local))
        out.push({ file: from, name, copiedBy: file });
    }
  }
  return out;
}

/** `"X"` (a migration's key, source text of a string) → X. */
function exportName(key: string): string {
  try {
    const v: unknown = JSON.parse(key);
    return typeof v === 'string' ? v : key;
  } catch {
    return key;
  }
}

/** [specifier, exported name, local name] of every module-level binding copied from a relative module at load. */
function loadTimeCopies(body: AstNode[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  const nameOf = (n: AstNode) => (n.name ?? String(n.value)) as string;
  for (const stmt of body) {
    if (stmt.type === 'ImportDeclaration') {
      const spec = String((stmt.source as AstNode).value);
      for (const s of stmt.specifiers as AstNode[])
        if (s.type === 'ImportSpecifier')
          out.push([spec, nameOf(s.imported as AstNode), nameOf(s.local as AstNode)]);
      continue;
    }
    if (stmt.type !== 'VariableDeclaration') continue;
    for (const d of stmt.declarations as AstNode[]) {
      const init = d.init as AstNode | null;
      const id = d.id as AstNode;
      if (!init) continue;
      const spec = requireSpec(init);
      if (spec && id.type === 'ObjectPattern') {
        for (const p of id.properties as AstNode[])
          if (p.type === 'Property' && !p.computed && (p.value as AstNode).type === 'Identifier')
            out.push([spec, nameOf(p.key as AstNode), nameOf(p.value as AstNode)]);
        continue;
      }
      if (init.type === 'MemberExpression' && !init.computed) {
        const objSpec = requireSpec(init.object as AstNode);
        if (objSpec && id.type === 'Identifier')
          out.push([objSpec, nameOf(init.property as AstNode), nameOf(id)]);
      }
    }
  }
  return out;
}

/** A relative `require('./x')`: a file of the package. */
function requireSpec(n: AstNode): string | null {
  const spec = requiredSpec(n);
  return spec?.startsWith('.') ? spec : null;
}
