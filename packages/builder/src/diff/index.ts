import { type Change, type FilePatch, sha256 } from '@hotpatch/core';
import { analyzeModule, MODULE_TOKEN, RESERVED_PREFIX, tokenTexts } from '@hotpatch/instrument';
import { DiffContext, type DiffInput, sameTokens } from './context.js';
import { applyEditsTo } from './emit.js';
import { functionPatches } from './function-patches.js';
import { changedFunctions, textChanged } from './functions.js';
import { toRunningNames } from './mangled-names.js';
import { matchFunctions } from './match.js';
import { migrationsOf } from './migrations.js';
import { moduleLevel, unitPairs } from './module-level.js';
import { Resolver } from './references.js';
import { statementStarts } from './scope.js';
import { selfCheck } from './self-check.js';

export type { DiffInput } from './context.js';
export { changedExportedLiterals } from './exports.js';

export interface FileDiff {
  patch: FilePatch | null;
  changes: Change[];
}

/**
 * Function-level diff of one file between a baseline (A) and a fixed version (B), and the
 * builder's verdict on every change, in phases: matching (match.ts), module level
 * (module-level.ts), functions (functions.ts, function-patches.ts), references (references.ts),
 * migrations (migrations.ts), emission (emit.ts), self-check (self-check.ts). The output serves both engines: `functions` and `migrations` for
 * the redirect engine, `edits` for LiveEdit where it can take them (`liveEdit` says why not).
 */
export function diffFile(given: DiffInput): FileDiff {
  const A = analyzeModule(given.oldSource, { sourceType: given.sourceType });
  let B = analyzeModule(given.newSource, { sourceType: given.sourceType });
  // Phase 0 for minified builds: the fixed version under the running names (mangled-names.ts).
  const mangled = given.minified ? toRunningNames(A, B) : null;
  if (mangled) B = mangled.analysis;
  const input = mangled ? { ...given, newSource: B.source } : given;
  const m = matchFunctions(A, B);
  const ctx = new DiffContext(input, A, B, m);
  if (mangled && mangled.renamed + mangled.fresh > 0)
    ctx.note('mangled-names', input.path, {
      detail: `${mangled.renamed} variable(s) renamed to their running names, ${mangled.fresh} new one(s) given fresh names`,
    });

  const allSame = sameTokens(tokenTexts(A, 0, A.source.length), tokenTexts(B, 0, B.source.length));
  if (allSame && !input.importedConstants?.size && !input.importsChangedFile) {
    ctx.note('comment-only', input.path);
    return { patch: null, changes: ctx.changes };
  }
  if (input.newSource.includes(RESERVED_PREFIX) || input.newSource.includes(MODULE_TOKEN)) {
    ctx.refuse('reserved-name', input.path, { detail: `${RESERVED_PREFIX}… or ${MODULE_TOKEN}` });
    return { patch: null, changes: ctx.changes };
  }

  // A module variable the bundler renamed that cannot be paired with the running one: every
  // reference to it would reach another variable.
  for (const u of m.unpaired) ctx.refuse('binding-renamed', u.name, { detail: u.detail });

  // Phases 2 and 3.
  const own = textChanged(ctx);
  const pairs = unitPairs(ctx);
  const level = moduleLevel(ctx, pairs, own);
  versionLiteral(ctx);
  const changed = changedFunctions(ctx, level.cells, own);

  // Phase 4 and 5, per changed function.
  const resolver = new Resolver(ctx, level.cells, statementStarts(B));
  const fp = functionPatches(ctx, changed, level.cells, resolver);
  const { edits, functions } = fp;
  let liveEdit = fp.liveEdit;
  const migrations = migrationsOf(ctx, resolver, level, pairs, changed);

  if (input.only) {
    // Restart verdicts outside the selection are deferred.
    for (const c of ctx.changes)
      if (c.verdict === 'restart' && c.kind !== 'parse-error') c.verdict = 'deferred';
    ctx.restart = ctx.changes.some((c) => c.verdict === 'restart');
  }
  if (ctx.restart || (functions.length === 0 && migrations.length === 0))
    return { patch: null, changes: ctx.changes };

  if (migrations.some((x) => x.kind !== 'cell'))
    liveEdit ??= 'the patch sets up module state at apply (migrations), which only the redirect engine runs';
  if (edits.length === 0)
    liveEdit ??= 'the patch only sets up module state, which only the redirect engine does';
  const patched = applyEditsTo(A.source, edits);
  const check = selfCheck(ctx, patched, edits, functions, migrations);
  if (check.invalid) {
    ctx.refuse('invalid-output', input.path, { detail: check.invalid });
    return { patch: null, changes: ctx.changes };
  }
  liveEdit ??= check.liveEdit;
  return {
    patch: {
      path: input.path,
      sourceType: input.sourceType,
      baselineSha256: sha256(A.source),
      patchedSha256: sha256(liveEdit ? A.source : patched),
      edits: liveEdit ? [] : edits.sort((x, y) => x.start - y.start),
      liveEdit,
      functions,
      migrations,
      changes: ctx.changes,
    },
    changes: ctx.changes,
  };
}

/** Version literals (exports.version = '1.2.3') stay as they are: the process keeps reporting its baseline version. */
function versionLiteral(ctx: DiffContext): void {
  const { A, B, input } = ctx;
  if (!input.oldVersion || !input.newVersion || input.oldVersion === input.newVersion) return;
  const quoted = (v: string) => new Set([`'${v}'`, `"${v}"`]);
  const inA = A.tokens.some((t) => quoted(input.oldVersion!).has(A.source.slice(t.start, t.end)));
  const inB = B.tokens.some((t) => quoted(input.newVersion!).has(B.source.slice(t.start, t.end)));
  if (inA && inB) ctx.note('version-literal', `'${input.oldVersion}' → '${input.newVersion}'`);
}
