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
import { type AstNode, CONVENTION_VERSION, parse } from '@hotpatch/instrument';
import { changedCodeFiles } from './changed-files.js';
import { copiedExports } from './copied-exports.js';
import { exportedLocals } from './diff/imports.js';
import { changedExportedLiterals, diffFile } from './diff/index.js';
import { resolveFrom, resolveRelative } from './diff/paths.js';
import { isQuietModule } from './diff/quiet-module.js';
import { requiredSpec } from './diff/units.js';
import { isCode, isDocLike, isMinified, listFiles, sourceTypeOf } from './files.js';
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
  migrate?: Array<{ file: string; source: string; revert?: string }>;
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

  for (const m of opts.migrate ?? []) {
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

/** Files reachable from the entry points through relative require()/import specifiers. */
function reachableFiles(dir: string, entries: Set<string>, files: Set<string>): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries].map((e) => resolveRelative(e, files)).filter((f): f is string => f !== null);
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(join(dir, file), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
      const target = resolveFrom(file, m[1]!, files);
      if (target && !seen.has(target)) queue.push(target);
    }
  }
  return seen;
}

const RELATIVE_SPECIFIER = /(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]*)['"]/g;

/** Whether a file names one of `targets` in a relative require()/import specifier. */
function importsAny(file: string, text: string, targets: Set<string>, files: Set<string>): boolean {
  if (targets.size === 0 || !isCode(file)) return false;
  for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
    const target = resolveFrom(file, m[1]!, files);
    if (target && target !== file && targets.has(target)) return true;
  }
  return false;
}

function parseOnly(list: string[]): Map<string, Set<string>> {
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

/** For each importing file: local binding -> the new value of the exported constant it copied. */
function importedConstantChanges(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, Map<string, { text: string; from: string }>> {
  const changedExports = new Map<string, Map<string, string>>();
  for (const file of filesB) {
    if (!isCode(file) || !filesA.has(file)) continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    const b = readFileSync(join(toDir, file), 'utf8');
    if (a === b) continue;
    const changed = changedExportedLiterals(a, b, sourceTypeOf(toDir, file, b));
    if (changed) changedExports.set(file, changed);
  }
  const out = new Map<string, Map<string, { text: string; from: string }>>();
  if (changedExports.size === 0) return out;
  for (const file of filesB) {
    if (!isCode(file) || isDocLike(file) || !filesA.has(file)) continue;
    const source = readFileSync(join(toDir, file), 'utf8');
    if (!source.includes('require')) continue;
    let ast: AstNode;
    try {
      ast = parse(source, 'commonjs');
    } catch {
      continue;
    }
    for (const stmt of ast.body as AstNode[]) {
      if (stmt.type !== 'VariableDeclaration') continue;
      for (const d of stmt.declarations as AstNode[]) {
        const init = d.init as AstNode | null;
        const id = d.id as AstNode;
        const spec = init ? requiredSpec(init) : null;
        if (id.type !== 'ObjectPattern' || spec === null) continue;
        const target = resolveFrom(file, spec, filesB);
        const changed = target ? changedExports.get(target) : undefined;
        if (!changed) continue;
        for (const p of id.properties as AstNode[]) {
          if (p.type !== 'Property' || p.computed) continue;
          const key = (p.key as AstNode).name as string;
          const local = p.value as AstNode;
          const text = changed.get(key);
          if (text === undefined || local.type !== 'Identifier') continue;
          const m = out.get(file) ?? new Map<string, { text: string; from: string }>();
          m.set(local.name as string, { text, from: `${target}'s ${key}` });
          out.set(file, m);
        }
      }
    }
  }
  return out;
}

/** For each ES module both versions have: the names the fixed one exports that the running one does not. */
function addedExports(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of filesB) {
    if (!isCode(file) || isDocLike(file) || !filesA.has(file)) continue;
    const b = readFileSync(join(toDir, file), 'utf8');
    if (!/\bexport\b/.test(b) || sourceTypeOf(toDir, file, b) !== 'module') continue;
    const a = readFileSync(join(fromDir, file), 'utf8');
    if (a === b) continue;
    try {
      const names = (src: string) => new Set(exportedLocals(parse(src, 'module').body as AstNode[]).values());
      const before = names(a);
      const added = [...names(b)].filter((n) => !before.has(n));
      if (added.length) out.set(file, new Set(added));
    } catch {
      // a file that does not parse is reported when it is diffed
    }
  }
  return out;
}

/** --exclude FILE (null: the whole file) or FILE:NAME. */
function parseExclude(list: string[]): Map<string, Set<string> | null> {
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

/** Export conditions Node resolves by default (others — browser, umd, types, deno, … — are for other tools). */
const NODE_CONDITIONS = new Set(['node', 'import', 'require', 'default', 'module-sync', 'node-addons']);

/** Files package.json points Node at (main, and exports under the conditions Node uses). */
function entryFiles(dir: string): Set<string> {
  const out = new Set<string>();
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      main?: string;
      exports?: unknown;
    };
    const add = (p: unknown) => {
      if (typeof p === 'string') out.add(p.replace(/^\.\//, ''));
      else if (Array.isArray(p)) for (const v of p) add(v);
      else if (p && typeof p === 'object')
        for (const [k, v] of Object.entries(p)) if (k.startsWith('.') || NODE_CONDITIONS.has(k)) add(v);
    };
    add(pkg.main ?? 'index.js');
    add(pkg.exports);
  } catch {
    out.add('index.js');
  }
  return out;
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
