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
import { changedCodeFiles } from './changed-files.js';
import { copiedExports } from './copied-exports.js';
import { diffFile } from './diff/index.js';
import { resolveFrom } from './diff/paths.js';
import { isQuietModule } from './diff/quiet-module.js';
import { entryFiles, importsAny, reachableFiles } from './entry-points.js';
import { isCode, isDocLike, isMinified, listFiles, sourceTypeOf } from './files.js';
import { addedExports, importedConstantChanges } from './package-exports.js';
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
}

export interface BuildResult {
  /** The unsigned payload, or null when the fix needs a restart (or there is nothing to patch). */
  payload: BundlePayload | null;
  /** Every change found, with its verdict. */
  changes: Array<Change & { file: string }>;
  /** Why no bundle was produced. */
  refusal: 'restart' | 'nothing' | null;
}

/** Turns two versions into a hotpatch payload with a verdict per change. Pure apart from reading files. */
export function buildPatch(opts: BuildOptions): BuildResult {
  const { from, to } = opts;
  if (from.name !== to.name) {
    throw new HotpatchError(
      'E_TARGET_MISMATCH',
      `--from is ${from.name} but --to is ${to.name}: both must be versions of one package`,
    );
  }
  const only = parseOnly(opts.only ?? []);
  const exclude = parseExclude(opts.exclude ?? []);
  const filesA = new Set(listFiles(from.dir));
  const filesB = new Set(listFiles(to.dir));
  const changes: Array<Change & { file: string }> = [];
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

  // Modules registration code may call again (diff/quiet-module.ts), read and parsed once each.
  const quietModules = new Map<string, boolean>();
  for (const file of [...new Set([...filesA, ...filesB])].sort()) {
    const inA = filesA.has(file);
    const inB = filesB.has(file);
    const a = inA ? readFileSync(join(from.dir, file)) : null;
    const b = inB ? readFileSync(join(to.dir, file)) : null;
    // An unchanged file is diffed only when it may have computed state at load by calling into a
    // changed one (`const Y = require('./util').make()`): that state is the running version's.
    const importsChangedFile =
      b !== null && importsAny(file, b.toString('utf8'), new Set(changedFiles.keys()), filesB);
    if (a && b && a.equals(b) && !imported.has(file) && !importsChangedFile) continue;
    if (file === 'package.json') {
      for (const c of packageJsonChanges(a, b)) note(file, c);
      continue;
    }
    if (!a && b && (isCode(file) || file.endsWith('.json')) && !isDocLike(file)) {
      // A file the fix adds: carried in the bundle and loaded as a module of the package the
      // first time patched code requires or imports it (nothing loads it otherwise).
      if (from.kind === 'app' || reachable.has(file)) {
        const source = b.toString('utf8');
        newFiles.push({
          path: file,
          sourceType: file.endsWith('.json') ? 'commonjs' : sourceTypeOf(to.dir, file, source),
          source,
          sha256: sha256(source),
        });
        note(file, changeOf('file-added', file));
      } else note(file, changeOf('new-file-unused', file));
      continue;
    }
    if (!isCode(file) || isDocLike(file)) {
      note(file, changeOf(isCode(file) ? 'docs-or-tests' : 'not-code', file));
      continue;
    }
    if (!a) continue; // unreachable: a new code file is handled above
    if (!b) {
      note(file, changeOf('removed-file', file));
      continue;
    }
    const oldSource = a.toString('utf8');
    const newSource = b.toString('utf8');
    const fileOnly = only.size ? (only.get(file) ?? new Set<string>()) : undefined;
    const fileExclude = exclude.get(file);
    if (fileExclude === null) {
      note(file, changeOf('excluded', file, { detail: 'file' }));
      continue;
    }
    if (isMinified(file, newSource) && !entryPoints.has(file)) {
      note(file, changeOf('minified-build', file));
      continue;
    }
    let diff: ReturnType<typeof diffFile>;
    try {
      diff = diffFile({
        path: file,
        sourceType: sourceTypeOf(to.dir, file, newSource),
        oldSource,
        newSource,
        oldVersion: from.version,
        newVersion: to.version,
        ...(fileOnly ? { only: fileOnly } : {}),
        ...(fileExclude ? { exclude: fileExclude } : {}),
        ...(imported.has(file) ? { importedConstants: imported.get(file)! } : {}),
        newExports,
        changedFiles,
        importsChangedFile,
        quietModule: (spec) => {
          const target = resolveFrom(file, spec, filesB);
          if (!target || !isCode(target)) return false;
          let known = quietModules.get(target);
          if (known === undefined) {
            const text = readFileSync(join(to.dir, target), 'utf8');
            known = isQuietModule(text, sourceTypeOf(to.dir, target, text));
            quietModules.set(target, known);
          }
          return known;
        },
      });
    } catch (e) {
      // Anything but a syntax error is the builder's own fault: say so, never "cannot parse".
      if (!(e instanceof SyntaxError)) {
        note(file, changeOf('invalid-output', file, { detail: `builder error: ${(e as Error).message}` }));
        continue;
      }
      // Files Node never loads (type-annotated sources, browser builds) need not even parse.
      const parseError = changeOf('parse-error', file, { detail: (e as Error).message });
      // An unchanged file looked at only for what it calls into a changed one: one our parser
      // cannot read was not examined before either (a Flow or TypeScript source Node cannot load).
      const unchanged = a.equals(b);
      note(
        file,
        (from.kind === 'npm' && !reachable.has(file)) || unchanged
          ? changeOf('file-not-loaded', file, { detail: parseError.reason })
          : parseError,
      );
      continue;
    }
    if (
      !diff.patch &&
      diff.changes.some((c) => c.verdict === 'restart') &&
      from.kind === 'npm' &&
      !reachable.has(file)
    ) {
      // Not loaded through the package's entry points (a browser build, a per-method module):
      // processes that load it directly need the fixed release.
      for (const c of diff.changes)
        note(
          file,
          c.verdict === 'restart' ? changeOf('file-not-loaded', c.name, { detail: c.reason }, c.line) : c,
        );
      continue;
    }
    for (const c of diff.changes) note(file, c);
    if (diff.patch) patches.push(diff.patch);
  }

  addAuthorMigrations(opts.migrate ?? [], from, filesA, patches, note);

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
  const body = { target, files: patches, newFiles };
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
    files: patches,
    newFiles,
    ignored: changes
      .filter((c) => !patches.some((p) => p.path === c.file))
      .map(({ file, ...c }) => ({ ...c, name: c.name === file ? file : `${file}: ${c.name}` })),
  };
  return { payload, changes, refusal: null };
}

function packageJsonChanges(a: Buffer | null, b: Buffer | null): Change[] {
  const parse = (x: Buffer | null): Record<string, unknown> => {
    try {
      return x ? (JSON.parse(x.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const pa = parse(a);
  const pb = parse(b);
  const out: Change[] = [];
  for (const key of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (JSON.stringify(pa[key]) === JSON.stringify(pb[key])) continue;
    if (key === 'version')
      out.push(
        changeOf('package-version', 'package.json version', {
          detail: `${String(pa[key])} → ${String(pb[key])}`,
        }),
      );
    else if (/dependencies$/i.test(key)) out.push(changeOf('dependency-range', `package.json ${key}`));
    else if (key === 'main' || key === 'exports' || key === 'type')
      out.push(changeOf('entry-points-changed', `package.json ${key}`));
    else out.push(changeOf('package-metadata', `package.json ${key}`));
  }
  return out;
}
