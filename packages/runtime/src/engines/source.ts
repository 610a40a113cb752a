import { readFileSync } from 'node:fs';
import { type FilePatch, HotpatchError } from '@hotpatch/core';
import { MODULE_TOKEN, PACKAGE_TOKEN, type PatchImport } from '@hotpatch/instrument';
import { sha256 } from '../hash.js';
import { heavy } from '../lazy.js';
import type { ModuleRecord } from './types.js';

/** The baseline source of a record, re-read from disk and checked against what was loaded. */
export function baselineSource(record: ModuleRecord): string {
  let text: string;
  try {
    text = readFileSync(record.filename, 'utf8');
  } catch {
    throw new HotpatchError('E_BASELINE_MISMATCH', `${record.filename} can no longer be read`);
  }
  if (sha256(text) !== record.sha256) {
    throw new HotpatchError('E_BASELINE_MISMATCH', `${record.filename} changed on disk since it was loaded`);
  }
  return text;
}

/** Patch code for one module instance: its tokens replaced by the module's and the package's namespaces. */
export function withNamespace(code: string, namespace: string, packageNamespace?: string): string {
  const moduleDone = code.split(MODULE_TOKEN).join(namespace);
  return packageNamespace === undefined ? moduleDone : moduleDone.split(PACKAGE_TOKEN).join(packageNamespace);
}

/** Patched source of a file (edits over the baseline), namespaced for this instance. */
export function patchedSource(baseline: string, file: FilePatch, namespace: string): string {
  return withNamespace(heavy().applyEdits(baseline, file), namespace);
}

/** The baseline with some edits applied (no hash check: intermediate LiveEdit steps). */
export function spliceEdits(
  baseline: string,
  edits: ReadonlyArray<{ start: number; end: number; text: string }>,
): string {
  let out = '';
  let pos = 0;
  for (const e of edits) {
    out += baseline.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + baseline.slice(pos);
}

/** The ES module imports a file patch adds, with the cells (in this instance's namespace) they fill. */
export function patchImports(file: FilePatch, namespace: string): PatchImport[] {
  return file.migrations
    .filter((m) => m.kind === 'import')
    .map((m) => ({ specifier: m.source, cell: withNamespace(`${MODULE_TOKEN}#${m.key!}`, namespace) }));
}
