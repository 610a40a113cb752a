/**
 * Target lookup: which loaded module instances a bundle changes (its package, version, paths and
 * baselines), and the namespaces its code runs under in each of them.
 */
import { sep } from 'node:path';
import { type Bundle, type FilePatch, HotpatchError, type NewFile, type Target } from '@hotpatch/core';
import type { FileWork, ModuleRecord } from './engines/types.js';
import { heavy } from './lazy.js';
import { lastPart, type ModuleIndex } from './module-index.js';

/** Labels of the targets of bundles checked off this thread (heavy.js need not load here for them). */
const labels = new WeakMap<Target, string>();

/** A target's label (core's targetLabel, loaded with bundle validation: only patches need it). */
export function labelOf(target: Target): string {
  return labels.get(target) ?? heavy().targetLabel(target);
}

/** Remembers the label the off-thread check computed for a target. */
export function rememberLabel(target: Target, label: string): void {
  labels.set(target, label);
}

export function matches(record: ModuleRecord, bundle: Bundle): boolean {
  const t = bundle.payload.target;
  const version = t.kind === 'npm' ? t.version : t.baseline;
  return record.pkgName === t.name && record.pkgVersion === version;
}

export function namespaceOf(record: ModuleRecord, patchId: string): string {
  return `${record.id}@${patchId}`;
}

/** A module instance's namespace in patch code, and its package instance's (the package root). */
export function namespacesOf(
  record: ModuleRecord,
  patchId: string,
): { namespace: string; packageNamespace: string } {
  const root = record.relPath
    ? record.filename.slice(0, record.filename.length - record.relPath.length)
    : record.filename;
  return { namespace: namespaceOf(record, patchId), packageNamespace: `${root}@${patchId}` };
}

/** The active patch's file for a record, when the record is exactly its baseline. */
export function workFor(
  bundles: Iterable<{ bundle: Bundle }>,
  record: ModuleRecord,
): { patchId: string; file: FilePatch } | null {
  for (const a of bundles) {
    if (!matches(record, a.bundle)) continue;
    const file = a.bundle.payload.files.find(
      (f) => f.path === record.relPath && f.baselineSha256 === record.sha256,
    );
    if (file) return { patchId: a.bundle.payload.patchId, file };
  }
  return null;
}

/** A file an active hotpatch adds to a package this process has loaded, by absolute path. */
export function newFileAt(
  bundles: Iterable<{ bundle: Bundle }>,
  records: readonly ModuleRecord[],
  filename: string,
): NewFile | null {
  for (const a of bundles) {
    const files = a.bundle.payload.newFiles;
    if (files.length === 0) continue;
    for (const r of records) {
      if (!r.relPath || !matches(r, a.bundle)) continue;
      const root = r.filename.slice(0, r.filename.length - r.relPath.length);
      const found = files.find((f) => root + f.path === filename);
      if (found) return found;
    }
  }
  return null;
}

/** Every loaded instance of the bundle's files; refuses one that is not the baseline it applies over. */
export function plan(modules: ModuleIndex, bundle: Bundle): FileWork[] {
  const work: FileWork[] = [];
  for (const file of bundle.payload.files) {
    // The file name first: a package lookup for each of a service's modules costs milliseconds.
    const tail = `${sep}${file.path.split('/').join(sep)}`;
    for (const record of modules.named(lastPart(file.path))) {
      if (!record.filename.endsWith(tail) && !record.filename.endsWith(`/${file.path}`)) continue;
      if (!matches(record, bundle) || record.relPath !== file.path) continue;
      if (record.sha256 !== file.baselineSha256) {
        throw new HotpatchError(
          'E_BASELINE_MISMATCH',
          `${record.filename} is not the baseline ${bundle.payload.patchId} applies over (sha256 ${record.sha256.slice(0, 12)}, expected ${file.baselineSha256.slice(0, 12)}); nothing changed`,
        );
      }
      work.push({ record, file, ...namespacesOf(record, bundle.payload.patchId) });
    }
  }
  return work;
}

/** Why a patch has nothing to change here: its package is not loaded, or another version is. */
export function notLoadedReason(records: readonly ModuleRecord[], bundle: Bundle): string {
  const t = bundle.payload.target;
  const wanted = t.kind === 'npm' ? t.version : t.baseline;
  const others = [
    ...new Set(records.filter((r) => r.pkgName === t.name).map((r) => r.pkgVersion ?? '?')),
  ].filter((v) => v !== wanted);
  if (others.length) {
    return `${t.name} ${others.join(', ')} is loaded in this process; this patch is for ${t.name} ${wanted} (applies if that version loads)`;
  }
  return `target ${t.name}@${wanted} not loaded in this process; applies when it loads`;
}
