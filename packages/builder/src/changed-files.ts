import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenTexts } from '@hotpatch/instrument';
import { sameTokens, withoutVersion } from './diff/context.js';
import { type ExportChanges, exportChangesOf } from './diff/export-changes.js';
import { analyzePair } from './diff/exports.js';
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
    const pair = analyzePair(a, b, sourceTypeOf(toDir, file, b));
    if (!pair) {
      out.set(file, 'all');
      continue;
    }
    const [A, B] = pair;
    const ta = withoutVersion(tokenTexts(A, 0, A.source.length), versions.from);
    const tb = withoutVersion(tokenTexts(B, 0, B.source.length), versions.to);
    if (!sameTokens(ta, tb)) out.set(file, exportChangesOf(A, B));
  }
  return out;
}
