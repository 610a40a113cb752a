import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@hotpatch/instrument';
import type { Token } from 'acorn';
import { type ExportChanges, exportChanges } from './diff/export-changes.js';
import { isCode, isDocLike, sourceTypeOf } from './files.js';

/**
 * Code files present in both releases whose code the fix changes: their tokens differ (comments,
 * layout and the package's version literal aside), with the exports whose calls may now give
 * other results (diff/export-changes.ts). Load-time code that calls one of those computed its
 * value with the running version's code (diff/load-calls.ts).
 */
export function changedCodeFiles(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
  versions: { from?: string; to?: string },
): Map<string, ExportChanges> {
  const out = new Map<string, ExportChanges>();
  for (const file of filesB) {
    if (!filesA.has(file) || !isCode(file) || isDocLike(file)) continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    const b = readFileSync(join(toDir, file), 'utf8');
    if (a === b) continue;
    const sourceType = sourceTypeOf(toDir, file, b);
    const ta = tokenTexts(a, sourceTypeOf(fromDir, file, a), versions.from);
    const tb = tokenTexts(b, sourceType, versions.to);
    if (!ta || !tb || ta.length !== tb.length || ta.some((t, i) => t !== tb[i]))
      out.set(file, ta && tb ? exportChanges(a, b, sourceType) : 'all');
  }
  return out;
}

/** The file's tokens as text, the version literal neutralised; null when it does not parse. */
function tokenTexts(
  source: string,
  sourceType: ReturnType<typeof sourceTypeOf>,
  version?: string,
): string[] | null {
  const tokens: Token[] = [];
  try {
    parse(source, sourceType, tokens);
  } catch {
    return null;
  }
  const quoted = version ? new Set([`'${version}'`, `"${version}"`]) : new Set<string>();
  return tokens.map((t) => {
    const text = source.slice(t.start, t.end);
    return quoted.has(text) ? '<version>' : text;
  });
}
