import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Change, changeOf, type FilePatch, HotpatchError, sha256 } from '@hotpatch/core';
import { isCode, sourceTypeOf } from './files.js';
import type { ResolvedSpec } from './spec.js';

/** What the patch author selects: --only, --exclude, and author migrations (--migrate). */

/** A state migration the patch author writes (`--migrate FILE:SCRIPT`). */
export interface AuthorMigration {
  file: string;
  source: string;
  revert?: string;
}

export function parseOnly(list: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const item of list) {
    const i = item.indexOf(':');
    if (i <= 0 || i === item.length - 1)
      throw new HotpatchError('E_USAGE', `--only ${item}: expected FILE:FUNCTION, e.g. index.js:parse`);
    const file = item.slice(0, i).replace(/^\.\//, '');
    const set = out.get(file) ?? new Set<string>();
    set.add(item.slice(i + 1));
    out.set(file, set);
  }
  return out;
}

/** --exclude FILE (null: the whole file) or FILE:NAME. */
export function parseExclude(list: string[]): Map<string, Set<string> | null> {
  const out = new Map<string, Set<string> | null>();
  for (const item of list) {
    const i = item.indexOf(':');
    const file = (i === -1 ? item : item.slice(0, i)).replace(/^\.\//, '');
    if (!file || i === item.length - 1)
      throw new HotpatchError('E_USAGE', `--exclude ${item}: expected FILE or FILE:NAME`);
    if (i === -1) {
      out.set(file, null);
      continue;
    }
    const set = out.get(file) ?? new Set<string>();
    if (set !== null) set.add(item.slice(i + 1));
    out.set(file, set);
  }
  return out;
}

/** Adds each author migration to its file's patch (a file without one gets an empty patch). */
export function addAuthorMigrations(
  migrate: AuthorMigration[],
  from: ResolvedSpec,
  filesA: Set<string>,
  patches: FilePatch[],
  note: (file: string, c: Change) => void,
): void {
  for (const m of migrate) {
    const file = m.file.replace(/^\.\//, '');
    let patch = patches.find((p) => p.path === file);
    if (!patch) {
      // A migration can be the whole fix for a file (state the builder cannot carry over).
      if (!filesA.has(file) || !isCode(file))
        throw new HotpatchError('E_USAGE', `--migrate ${m.file}: no such code file in ${from.spec}`);
      const source = readFileSync(join(from.dir, file), 'utf8');
      const sha = sha256(source);
      patch = {
        path: file,
        sourceType: sourceTypeOf(from.dir, file, source),
        baselineSha256: sha,
        patchedSha256: sha,
        edits: [],
        liveEdit: null,
        functions: [],
        migrations: [],
        changes: [],
      };
      patches.push(patch);
    }
    patch.migrations.push({
      kind: 'script',
      source: m.source,
      ...(m.revert ? { revert: m.revert } : {}),
      author: true,
    });
    patch.liveEdit ??= 'the patch runs an author migration, which only the redirect engine runs';
    if (patch.liveEdit) {
      patch.edits = [];
      patch.patchedSha256 = patch.baselineSha256;
    }
    // In the file's own changes too: `inspect` and the catalog show it with the file.
    const authored = changeOf('migration-author', file);
    patch.changes.push(authored);
    note(file, authored);
  }
}

/** Every --only FILE:FUNCTION must name a change the builder found. */
export function checkOnly(only: Map<string, Set<string>>, changes: Array<Change & { file: string }>): void {
  for (const [file, keys] of only) {
    for (const key of keys) {
      if (!changes.some((c) => c.file === file && c.name === key)) {
        const known = changes.filter((c) => c.file === file && c.kind !== 'not-code').map((c) => c.name);
        throw new HotpatchError(
          'E_USAGE',
          `--only ${file}:${key}: no such changed function${known.length ? ` (changed in ${file}: ${known.slice(0, 8).join(', ')})` : ` (${file} has no code changes)`}`,
        );
      }
    }
  }
}
