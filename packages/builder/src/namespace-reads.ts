import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Change, changeOf, type FilePatch } from '@hotpatch/core';
import {
  type AstNode,
  bindingNames,
  cellRead,
  childrenOf,
  isFunctionNode,
  parse,
} from '@hotpatch/instrument';
import { readsMember } from './added-properties-check.js';
import { resolveFrom } from './diff/paths.js';

/**
 * An ES module's namespace object (`import * as types from './types.js'`) is made once, by the
 * engine, with the exports the running module had: no apply can give it a new one. Patched code
 * that reads an export the fix adds through it (`types.normalFsTypes`, tar 7.5.16's unbundled ES
 * build) would read `undefined` — reported applied, then throwing on every call (it did). Such a
 * read is rewritten to the new export's cell in the package's state, which the exporting file's
 * patch creates (as for a named import of a new export, diff/imports.ts); where that cannot be
 * done (no such cell, a replacement that does not parse, or one that declares the namespace's
 * name itself), the build is refused (`binding-missing`), naming the read.
 */
export function namespaceReads(
  fromDir: string,
  patches: FilePatch[],
  newExports: Map<string, Set<string>>,
  note: (file: string, c: Change) => void,
): void {
  if (newExports.size === 0) return;
  const cells = new Set(
    patches.flatMap((p) => p.migrations.filter((m) => m.kind === 'cell' && m.shared).map((m) => m.key)),
  );
  for (const p of patches) {
    if (p.sourceType !== 'module') continue;
    let body: AstNode[];
    try {
      body = parse(readFileSync(join(fromDir, p.path), 'utf8'), 'module').body as AstNode[];
    } catch {
      continue; // a file the builder could not read was refused already
    }
    const reads = [...namespaceImports(p.path, body, newExports)].flatMap(([local, sibling]) =>
      [...(newExports.get(sibling) ?? [])].map((name) => ({ local, name, key: `${sibling}#${name}` })),
    );
    if (reads.length === 0) continue;
    const refuse = (local: string, name: string, why: string) =>
      note(
        p.path,
        changeOf(
          'binding-missing',
          `${local}.${name}`,
          {
            detail: `${local}.${name}, an export the fix adds, read through the namespace object the running module imported (it cannot gain one; ${why})`,
          },
          1,
        ),
      );
    for (const f of p.functions) {
      const wanted = reads.filter((r) => readsMember(f.source, r.local, r.name));
      if (wanted.length === 0) continue;
      const missing = wanted.find((r) => !cells.has(r.key));
      if (missing) {
        refuse(missing.local, missing.name, 'no cell of the patch holds it');
        continue;
      }
      const rewritten = rewriteReads(f.source, wanted);
      if (typeof rewritten === 'string') f.source = rewritten;
      else refuse(wanted[0]!.local, wanted[0]!.name, rewritten.why);
    }
    for (const m of p.migrations)
      for (const r of reads)
        if (readsMember(m.source, r.local, r.name)) refuse(r.local, r.name, 'read by code run at apply');
  }
}

interface Read {
  local: string;
  name: string;
  key: string;
}

/** The replacement with each `local.name` / `local["name"]` read as the new export's cell. */
function rewriteReads(source: string, reads: Read[]): string | { why: string } {
  let ast: AstNode;
  try {
    ast = parse(source, 'commonjs');
  } catch {
    return { why: 'the replacement does not parse on its own' };
  }
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let shadowed = false;
  const visit = (n: AstNode): void => {
    if (n.type === 'MemberExpression') {
      const o = n.object as AstNode;
      const prop = n.property as AstNode;
      const key = n.computed ? (prop.type === 'Literal' ? String(prop.value) : null) : (prop.name as string);
      const r = o.type === 'Identifier' ? reads.find((x) => x.local === o.name && x.name === key) : undefined;
      if (r) {
        edits.push({ start: n.start, end: n.end, text: cellRead(r.key, true) });
        return;
      }
    }
    if (
      (n.type === 'VariableDeclarator' || isFunctionNode(n) || n.type === 'CatchClause') &&
      reads.some((r) =>
        [
          ...(n.type === 'VariableDeclarator' ? [n.id as AstNode] : []),
          ...((n.params as AstNode[] | undefined) ?? []),
          ...(n.type === 'CatchClause' && n.param ? [n.param as AstNode] : []),
        ].some((b) => bindingNames(b).includes(r.local)),
      )
    )
      shadowed = true;
    for (const c of childrenOf(n)) visit(c);
  };
  visit(ast);
  if (shadowed) return { why: 'the replacement declares a name of its own like it' };
  let out = source;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** `import * as local from './sibling'` of a file with new exports: local name → sibling path. */
function namespaceImports(
  path: string,
  body: AstNode[],
  newExports: Map<string, Set<string>>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const stmt of body) {
    if (stmt.type !== 'ImportDeclaration') continue;
    const sibling = resolveFrom(path, String((stmt.source as AstNode).value), newExports);
    if (!sibling) continue;
    for (const s of stmt.specifiers as AstNode[])
      if (s.type === 'ImportNamespaceSpecifier') out.set((s.local as AstNode).name as string, sibling);
  }
  return out;
}
