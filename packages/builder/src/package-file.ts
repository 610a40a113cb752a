import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Change, changeOf, type FilePatch, type NewFile, sha256 } from '@hotpatch/core';
import type { changedCodeFiles } from './changed-files.js';
import type { DiffInput } from './diff/context.js';
import { diffFile, type FileDiff } from './diff/index.js';
import { resolveFrom } from './diff/paths.js';
import { isQuietModule } from './diff/quiet-module.js';
import { importsAny } from './entry-points.js';
import { isCode, isDocLike, isMinified, sourceTypeOf } from './files.js';
import { checkLoadState } from './load-state/check.js';
import { needsLoadState, withLoadStateReason } from './load-state/verdict.js';
import type { importedConstantChanges } from './package-exports.js';
import type { ResolvedSpec } from './spec.js';

/** What diffing one file of the package needs to know about the others, and where its results go. */
export interface PackageScan {
  from: ResolvedSpec;
  to: ResolvedSpec;
  filesA: Set<string>;
  filesB: Set<string>;
  only: Map<string, Set<string>>;
  exclude: Map<string, Set<string> | null>;
  entryPoints: Set<string>;
  reachable: Set<string>;
  imported: ReturnType<typeof importedConstantChanges>;
  newExports: Map<string, Set<string>>;
  changedFiles: ReturnType<typeof changedCodeFiles>;
  /** Modules registration code may call again (diff/quiet-module.ts), read and parsed once each. */
  quietModules: Map<string, boolean>;
  /** Entry points the fixed release moved (renamed-entries.ts): running path → fixed path. */
  renamed: Map<string, string>;
  note: (file: string, c: Change) => void;
  patches: FilePatch[];
  newFiles: NewFile[];
  /** Whether files refused for what their load built may be loaded from both releases (load-state/). */
  loadReplay: boolean;
}

/** One file of the package: its changes with their verdicts, and its patch or new-file entry. */
export function scanFile(scan: PackageScan, file: string): void {
  const { from, to, filesA, filesB, only, exclude, entryPoints, reachable, imported } = scan;
  const { newExports, changedFiles, quietModules, renamed, note, patches, newFiles } = scan;
  const inA = filesA.has(file);
  const inB = filesB.has(file);
  const a = inA ? readFileSync(join(from.dir, file)) : null;
  const movedTo = isCode(file) && !isDocLike(file) ? renamed.get(file) : undefined;
  const b = inB ? readFileSync(join(to.dir, file)) : movedTo ? readFileSync(join(to.dir, movedTo)) : null;
  if (movedTo) note(file, changeOf('entry-moved', file, { detail: movedTo }));
  // An unchanged file is diffed only when it may have computed state at load by calling into a
  // changed one (`const Y = require('./util').make()`): that state is the running version's.
  const importsChangedFile =
    b !== null && importsAny(file, b.toString('utf8'), new Set(changedFiles.keys()), filesB);
  if (a && b && a.equals(b) && !imported.has(file) && !importsChangedFile) return;
  if (file === 'package.json') {
    for (const c of packageJsonChanges(a, b)) note(file, c);
    return;
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
    return;
  }
  if (!isCode(file) || isDocLike(file)) {
    note(file, changeOf(isCode(file) ? 'docs-or-tests' : 'not-code', file));
    return;
  }
  if (!a) return; // unreachable: a new code file is handled above
  if (!b) {
    note(file, changeOf('removed-file', file));
    return;
  }
  const oldSource = a.toString('utf8');
  const newSource = b.toString('utf8');
  const fileOnly = only.size ? (only.get(file) ?? new Set<string>()) : undefined;
  const fileExclude = exclude.get(file);
  if (fileExclude === null) {
    note(file, changeOf('excluded', file, { detail: 'file' }));
    return;
  }
  const minified = isMinified(file, newSource);
  if (minified && !entryPoints.has(file)) {
    note(file, changeOf('minified-build', file));
    return;
  }
  let diff: ReturnType<typeof diffFile>;
  let input: DiffInput;
  try {
    input = {
      path: file,
      // A moved entry point is loaded as the running release says (its path, its package.json).
      sourceType: movedTo ? sourceTypeOf(from.dir, file, oldSource) : sourceTypeOf(to.dir, file, newSource),
      oldSource,
      newSource,
      oldVersion: from.version,
      newVersion: to.version,
      minified,
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
    };
    diff = diffFile(input);
  } catch (e) {
    // Anything but a syntax error is the builder's own fault: say so, never "cannot parse".
    if (!(e instanceof SyntaxError)) {
      note(file, changeOf('invalid-output', file, { detail: `builder error: ${(e as Error).message}` }));
      return;
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
    return;
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
    return;
  }
  if (scan.loadReplay && !minified && needsLoadState(diff.changes))
    diff = withLoadState(diff, input, { from, to, file, oldSource, newSource });
  for (const c of diff.changes) note(file, c);
  if (diff.patch) patches.push(diff.patch);
}

/**
 * A file refused only for what its load built (load-state/): both releases are loaded and, when
 * they build the same state, diffed again with those refusals live; otherwise the refusals say why.
 */
function withLoadState(
  diff: FileDiff,
  input: DiffInput,
  f: { from: ResolvedSpec; to: ResolvedSpec; file: string; oldSource: string; newSource: string },
): FileDiff {
  const decision = checkLoadState({
    oldDir: f.from.dir,
    newDir: f.to.dir,
    file: f.file,
    sourceType: input.sourceType,
    oldSource: f.oldSource,
    newSource: f.newSource,
    oldVersion: f.from.version,
    newVersion: f.to.version,
  });
  const again = decision.lift ? diffFile({ ...input, loadState: decision }) : diff;
  return { ...again, changes: withLoadStateReason(again.changes, decision) };
}

/** The verdicts on what the fix changes in package.json. */
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
