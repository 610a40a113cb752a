import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundlePayload,
  type Change,
  changeOf,
  defaultPatchId,
  type FilePatch,
  HotpatchError,
  hotpatchVersion,
  KEY_SCHEME,
  type NewFile,
  type Severity,
  sha256,
  type Target,
} from '@hotpatch/core';
import { CONVENTION_VERSION } from '@hotpatch/instrument';
import { checkAddedProperties } from './added-properties-check.js';
import { changedCodeFiles } from './changed-files.js';
import { hashedChunkRenames, withRunningChunkNames } from './chunk-renames.js';
import { copiedExports } from './copied-exports.js';
import { entryFiles, reachableFiles, relativeImports } from './entry-points.js';
import { dependenciesFirst } from './file-order.js';
import { isCode, isDocLike, listFiles } from './files.js';
import { namespaceReads } from './namespace-reads.js';
import { addedExports, importedConstantChanges } from './package-exports.js';
import { type PackageScan, scanFile } from './package-file.js';
import { renamedEntryFiles } from './renamed-entries.js';
import {
  type AuthorMigration,
  addAuthorMigrations,
  checkOnly,
  parseExclude,
  parseOnly,
} from './selections.js';
import type { ResolvedSpec } from './spec.js';

export const BUILDER_ID = 'hotpatch-builder/0.1.0';

export interface BuildOptions {
  from: ResolvedSpec;
  to: ResolvedSpec;
  advisories?: string[];
  severity?: Severity;
  title?: string;
  patchId?: string;
  level?: number;
  supersedes?: string[];
  /** FILE:FUNCTION selections; FILE is the path inside the target. */
  only?: string[];
  /** FILE or FILE:NAME (function key or top-level binding) to leave out: deferred to the next baseline. */
  exclude?: string[];
  /**
   * State migrations written by the patch author (`--migrate FILE:SCRIPT`): statements run once at
   * apply in the module FILE (with optional `revert` statements), for what the builder cannot
   * derive itself. The bundle is then marked author-assisted.
   */
  migrate?: AuthorMigration[];
  now?: Date;
  /**
   * Load both releases' files in child processes to compare the state their load builds
   * (load-state/), for files refused only for that (default true; `--no-load-replay`).
   */
  loadReplay?: boolean;
}

export interface BuildResult {
  /** The unsigned payload, or null when the fix needs a restart (or there is nothing to patch). */
  payload: BundlePayload | null;
  /** Every change found, with its verdict. */
  changes: Array<Change & { file: string }>;
  /** Why no bundle was produced. */
  refusal: 'restart' | 'nothing' | null;
}

/**
 * Turns two versions into a hotpatch payload with a verdict per change. Pure apart from reading
 * files (and a temporary copy of the fixed release when the bundler renamed chunks).
 */
export function buildPatch(opts: BuildOptions): BuildResult {
  const { from, to } = opts;
  if (from.name !== to.name) {
    throw new HotpatchError(
      'E_TARGET_MISMATCH',
      `--from is ${from.name} but --to is ${to.name}: both must be versions of one package`,
    );
  }
  const filesA = new Set(listFiles(from.dir));
  const filesB = new Set(listFiles(to.dir));
  // Chunks the bundler renamed (chunk-renames.ts): compared under their running names.
  const chunks = hashedChunkRenames(from.dir, to.dir, filesA, filesB);
  if (chunks.size === 0) return buildBetween(opts, filesA, filesB, []);
  const copy = withRunningChunkNames(to.dir, filesB, chunks);
  try {
    const renamed = [...chunks].map(([fixed, running]) => ({
      ...changeOf('chunk-renamed', running, { detail: fixed }),
      file: running,
    }));
    return buildBetween(
      { ...opts, to: { ...to, dir: copy.dir } },
      filesA,
      new Set(listFiles(copy.dir)),
      renamed,
    );
  } finally {
    copy.remove();
  }
}

function buildBetween(
  opts: BuildOptions,
  filesA: Set<string>,
  filesB: Set<string>,
  initial: Array<Change & { file: string }>,
): BuildResult {
  const { from, to } = opts;
  const only = parseOnly(opts.only ?? []);
  const exclude = parseExclude(opts.exclude ?? []);
  const changes: Array<Change & { file: string }> = [...initial];
  const patches: FilePatch[] = [];
  const entryPoints = new Set([...entryFiles(from.dir), ...entryFiles(to.dir)]);
  // What Node loads: from the running release's entry points, and from the fixed release's.
  const reachable = new Set([
    ...reachableFiles(from.dir, entryFiles(from.dir), filesA),
    ...reachableFiles(to.dir, entryFiles(to.dir), filesB),
  ]);
  const note = (file: string, c: Change) => changes.push({ ...c, file });
  const newFiles: NewFile[] = [];

  // Exported constants the fix changed (module.exports = { MAX_LENGTH: 10000 }), and the files
  // that copied them into module-level bindings at load: those get the new values live.
  const imported = importedConstantChanges(from.dir, to.dir, filesA, filesB);
  // Exports the fix adds to ES modules (a changed sibling that imports one reads its cell).
  const newExports = addedExports(from.dir, to.dir, filesA, filesB);
  // Files whose code changes: what load-time code computed by calling into one is stale.
  const changedFiles = changedCodeFiles(from.dir, to.dir, filesA, filesB, {
    from: from.version,
    to: to.version,
  });

  // Every file of either version, in order: its changes, and its patch (package-file.ts).
  const scan: PackageScan = {
    from,
    to,
    filesA,
    filesB,
    only,
    exclude,
    entryPoints,
    reachable,
    imported,
    newExports,
    changedFiles,
    quietModules: new Map(),
    // Entry points the fixed release moved: the running path gets the moved file's code.
    renamed: renamedEntryFiles(from.dir, to.dir, filesA, filesB),
    note,
    patches,
    newFiles,
    loadReplay: opts.loadReplay ?? true,
  };
  for (const file of [...new Set([...filesA, ...filesB])].sort()) scanFile(scan, file);

  addAuthorMigrations(opts.migrate ?? [], from, filesA, patches, note);
  checkAddedProperties(changes, patches, newFiles, () =>
    [...filesA]
      .filter((f) => isCode(f) && !isDocLike(f))
      .map((f) => readFileSync(join(from.dir, f), 'utf8'))
      .join('\n'),
  );

  namespaceReads(from.dir, patches, newExports, note);
  checkOnly(only, changes);

  // An export the patch assigns again that another file copied at load keeps its running value there.
  const loaded = (file: string) => from.kind !== 'npm' || reachable.has(file);
  // The file's own patch gives its binding the new value: an imported constant, or a cell.
  const rebound = (file: string, local: string) =>
    (imported.get(file)?.has(local) ?? false) ||
    (patches
      .find((p) => p.path === file)
      ?.migrations.some(
        (m) =>
          (m.kind === 'cell' || m.kind === 'import') &&
          m.key !== undefined &&
          (m.key === `/${local}` || m.key.startsWith(`/${local}#`) || m.key.startsWith(`/${local}.`)),
      ) ??
      false);
  // What the running release copied at load is what stays stale.
  for (const c of copiedExports(from.dir, filesA, patches, loaded, rebound))
    note(
      c.file,
      changeOf('export-changed', `exports.${c.name}`, {
        where: 'at module level',
        detail: `${c.copiedBy} copied it at load and would keep the running value`,
      }),
    );
  if (changes.some((c) => c.verdict === 'restart')) return { payload: null, changes, refusal: 'restart' };
  if (patches.length === 0) return { payload: null, changes, refusal: 'nothing' };
  // New files only matter to the live changes that load them: without any, nothing is carried.

  const target: Target =
    from.kind === 'npm'
      ? { kind: 'npm', name: from.name, version: from.version }
      : { kind: 'app', name: from.name, baseline: from.version };
  const level = opts.level ?? 1;
  const advisories = opts.advisories ?? [];
  const now = opts.now ?? new Date();
  // Migrations run in file order at apply: a file's after those of the files it may load.
  const graph = relativeImports(to.dir, filesB);
  const files = dependenciesFirst(patches, (f) => graph.get(f) ?? []);
  const body = { target, files, newFiles };
  const contentHash = sha256(JSON.stringify(body));
  const payload: BundlePayload = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    keyScheme: KEY_SCHEME,
    convention: CONVENTION_VERSION,
    patchId: opts.patchId ?? defaultPatchId(now, contentHash),
    version: hotpatchVersion(from.version, level),
    level,
    title:
      opts.title ??
      `${from.name} ${from.version} → ${to.version}${advisories.length ? ` (${advisories.join(', ')})` : ''}`,
    advisories,
    severity: opts.severity ?? 'unknown',
    classification: advisories.length ? 'security' : 'other',
    createdAt: now.toISOString(),
    builder: BUILDER_ID,
    target,
    fixedIn: to.version,
    supersedes: opts.supersedes ?? [],
    files,
    newFiles,
    ignored: changes
      .filter((c) => !patches.some((p) => p.path === c.file))
      .map(({ file, ...c }) => ({ ...c, name: c.name === file ? file : `${file}: ${c.name}` })),
  };
  return { payload, changes, refusal: null };
}
