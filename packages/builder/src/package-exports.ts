import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AstNode, parse } from '@hotpatch/instrument';
import { exportedLocals } from './diff/imports.js';
import { changedExportedLiterals } from './diff/index.js';
import { resolveFrom } from './diff/paths.js';
import { requiredSpec } from './diff/units.js';
import { isCode, isDocLike, sourceTypeOf } from './files.js';

/**
 * What the fix changes in a file's exports that other files of the package see: constants they
 * copied at load, and new ES module exports a changed sibling imports.
 */

/** For each importing file: local binding -> the new value of the exported constant it copied. */
export function importedConstantChanges(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, Map<string, { text: string; from: string }>> {
  const changedExports = new Map<string, Map<string, string>>();
  for (const file of filesB) {
    if (!isCode(file) || !filesA.has(file)) continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    const b = readFileSync(join(toDir, file), 'utf8');
    if (a === b) continue;
    const changed = changedExportedLiterals(a, b, sourceTypeOf(toDir, file, b));
    if (changed) changedExports.set(file, changed);
  }
  const out = new Map<string, Map<string, { text: string; from: string }>>();
  if (changedExports.size === 0) return out;
  for (const file of filesB) {
    if (!isCode(file) || isDocLike(file) || !filesA.has(file)) continue;
    const source = readFileSync(join(toDir, file), 'utf8');
    if (!source.includes('require')) continue;
    let ast: AstNode;
    try {
      ast = parse(source, 'commonjs');
    } catch {
      continue;
    }
    for (const stmt of ast.body as AstNode[]) {
      if (stmt.type !== 'VariableDeclaration') continue;
      for (const d of stmt.declarations as AstNode[]) {
        const init = d.init as AstNode | null;
        const id = d.id as AstNode;
        const spec = init ? requiredSpec(init) : null;
        if (id.type !== 'ObjectPattern' || spec === null) continue;
        const target = resolveFrom(file, spec, filesB);
        const changed = target ? changedExports.get(target) : undefined;
        if (!changed) continue;
        for (const p of id.properties as AstNode[]) {
          if (p.type !== 'Property' || p.computed) continue;
          const key = (p.key as AstNode).name as string;
          const local = p.value as AstNode;
          const text = changed.get(key);
          if (text === undefined || local.type !== 'Identifier') continue;
          const m = out.get(file) ?? new Map<string, { text: string; from: string }>();
          m.set(local.name as string, { text, from: `${target}'s ${key}` });
          out.set(file, m);
        }
      }
    }
  }
  return out;
}

/** For each ES module both versions have: the names the fixed one exports that the running one does not. */
export function addedExports(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of filesB) {
    if (!isCode(file) || isDocLike(file) || !filesA.has(file)) continue;
    const b = readFileSync(join(toDir, file), 'utf8');
    if (!/\bexport\b/.test(b) || sourceTypeOf(toDir, file, b) !== 'module') continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    if (a === b) continue;
    try {
      const names = (src: string) => new Set(exportedLocals(parse(src, 'module').body as AstNode[]).values());
      const before = names(a);
      const added = [...names(b)].filter((n) => !before.has(n));
      if (added.length) out.set(file, new Set(added));
    } catch {
      // a file that does not parse is reported when it is diffed
    }
  }
  return out;
}
