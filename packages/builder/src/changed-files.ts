import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@hotpatch/instrument';
import type { Token } from 'acorn';
import { isCode, isDocLike, sourceTypeOf } from './files.js';

/**
 * Code files present in both releases whose code the fix changes: their tokens differ (comments,
 * layout and the package's version literal aside). Load-time code that calls into one of them
 * computed its value with the running version's code (diff/load-calls.ts).
 */
export function changedCodeFiles(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
  versions: { from?: string; to?: string },
): Set<string> {
  const out = new Set<string>();
  for (const file of filesB) {
    if (!filesA.has(file) || !isCode(file) || isDocLike(file)) continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    const b = readFileSync(join(toDir, file), 'utf8');
    if (a === b) continue;
    const ta = tokenTexts(a, sourceTypeOf(fromDir, file, a), versions.from);
    const tb = tokenTexts(b, sourceTypeOf(toDir, file, b), versions.to);
    if (!ta || !tb || ta.length !== tb.length || ta.some((t, i) => t !== tb[i])) out.add(file);
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
