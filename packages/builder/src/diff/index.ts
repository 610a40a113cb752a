import {
  type Change,
  type Edit,
  type FilePatch,
  type FunctionPatch,
  type Migration,
  sha256,
} from '@hotpatch/core';
import {
  type AstNode,
  analyzeModule,
  type FunctionInfo,
  guardShape,
  MODULE_TOKEN,
  RESERVED_PREFIX,
  tokenTexts,
  type Variable,
} from '@hotpatch/instrument';
import { DiffContext, type DiffInput, sameTokens } from './context.js';
import { applyEditsTo, replacement, retention, statementMigration } from './emit.js';
import { type ChangedFunction, changedFunctions, textChanged } from './functions.js';
import { parameterRenames } from './local-renames.js';
import { matchFunctions } from './match.js';
import { memoResets } from './memos.js';
import { moduleLevel, unitPairs } from './module-level.js';
import { argumentsReadAsDefaults, extraArgumentsReason, paramName } from './params.js';
import {
  liveRewrites,
  type Problem,
  Resolver,
  type Rewrite,
  rewriteRange,
  runningName,
  type Site,
} from './references.js';
import {
  declaringFunction,
  freeRefs,
  globalRefs,
  innermostFunction,
  isReassigned,
  lineOf,
  statementStarts,
} from './scope.js';
import { selfCheck } from './self-check.js';
import type { Cell } from './state.js';
import { Transience } from './transient.js';

export type { DiffInput } from './context.js';
export { changedExportedLiterals } from './exports.js';

export interface FileDiff {
  patch: FilePatch | null;
  changes: Change[];
}

/**
 * Function-level diff of one file between a baseline (A) and a fixed version (B), and the
 * builder's verdict on every change, in phases: matching (match.ts), module level
 * (module-level.ts), functions (functions.ts), references (references.ts), emission (emit.ts),
 * self-check (self-check.ts). The output serves both engines: `functions` and `migrations` for
 * the redirect engine, `edits` for LiveEdit where it can take them (`liveEdit` says why not).
 */
export function diffFile(input: DiffInput): FileDiff {
  const A = analyzeModule(input.oldSource, { sourceType: input.sourceType });
  const B = analyzeModule(input.newSource, { sourceType: input.sourceType });
  const m = matchFunctions(A, B);
  const ctx = new DiffContext(input, A, B, m);

  const allSame = sameTokens(tokenTexts(A, 0, A.source.length), tokenTexts(B, 0, B.source.length));
  if (allSame && !input.importedConstants?.size && !input.importsChangedFile) {
    ctx.note('comment-only', input.path);
    return { patch: null, changes: ctx.changes };
  }
  if (input.newSource.includes(RESERVED_PREFIX) || input.newSource.includes(MODULE_TOKEN)) {
    ctx.refuse('reserved-name', input.path, { detail: `${RESERVED_PREFIX}… or ${MODULE_TOKEN}` });
    return { patch: null, changes: ctx.changes };
  }

  // Phases 2 and 3.
  const own = textChanged(ctx);
  const pairs = unitPairs(ctx);
  const level = moduleLevel(ctx, pairs, own);
  versionLiteral(ctx);
  const changed = changedFunctions(ctx, level.cells, own);

  // Phase 4 and 5, per changed function.
  const resolver = new Resolver(ctx, level.cells, statementStarts(B));
  const edits: Edit[] = [];
  const functions: FunctionPatch[] = [];
  let liveEdit: string | null = null;
  const transience = new Transience(A);
  promoteHosts(ctx, changed, transience, resolver);
  const outermost = new Set(
    [...changed.keys()].filter((fb) => {
      for (let p = fb.parent; p; p = p.parent) if (changed.has(p)) return false;
      return true;
    }),
  );
  for (const fb of [...changed.keys()].sort((x, y) => x.node.start - y.node.start)) {
    const fa = m.toA.get(fb)!;
    const info = changed.get(fb)!;
    const line = lineOf(B.source, fb.node.start);
    // Inside a changed function, a closure that dies with the call that made it is made anew by
    // the replacement of that function: nothing of its own to redirect.
    if (!outermost.has(fb) && transience.isTransient(fa)) {
      ctx.note('callback-in-changed-function', fa.key, {}, line);
      continue;
    }
    const shape = guardShape(fa);
    const site: Site = {
      kind: 'function',
      fb,
      fa,
      parentChanged: fb.parent ? changed.has(fb.parent) : false,
    };
    const res = resolver.resolve(fb.node, site);
    const rewrites = res.rewrites;
    // A renamed function declaration keeps its running name.
    const ownId = fb.kind === 'declaration' ? (fb.node.id as AstNode | null) : null;
    if (ownId && m.rename(ownId.name as string) !== ownId.name)
      rewrites.push({ start: ownId.start, end: ownId.end, text: m.rename(ownId.name as string) });
    if (outermost.has(fb)) keepLayout(ctx, fb, fa, level.cells, rewrites);
    const problems = [...res.problems, ...functionProblems(ctx, fb, fa, shape)];
    // Closures the old code made, still alive, cannot see variables only the new parent declares.
    if (res.stale.length)
      problems.push({
        id: 'stale-closure-state',
        detail: `${res.stale.join(', ')} of ${m.keyInA(fb.parent!)}`,
      });
    const home = fb.usesSuper && fb.kind === 'method' ? homeObject(ctx, fb) : null;
    if (fb.usesSuper && fb.kind !== 'constructor' && !home)
      problems.push({
        id: 'unsupported-syntax',
        detail: '`super` in a method of a class that is not a module-level binding',
      });
    if (problems.length) {
      refuseWith(ctx, fa.key, problems, line);
      continue;
    }
    ctx.note(info.id, fa.key, { detail: info.detail ?? '' }, line);
    if (res.shadowed?.length)
      ctx.note('closure-state-shadowed', fa.key, { detail: res.shadowed.join(', ') }, line);
    const added = addedParameters(fa, fb, shape);
    if (added) ctx.note('parameters-added', fa.key, { detail: added }, line);
    liveEdit ??= res.liveEditNote;
    if (outermost.has(fb)) {
      const text = rewriteRange(B.source, fb.node.start, fb.node.end, liveRewrites(rewrites));
      edits.push({ start: fa.node.start, end: fa.node.end, text });
    }
    const globals = globalRefs(B, fb.node).sort();
    functions.push({
      ...replacement(B, fb, shape, rewrites, home, parameterRenames(fa, fb)),
      key: fa.key,
      ...(globals.length ? { globals } : {}),
    });
  }

  // Statements re-run at apply, then the module state the live changes (and those) use.
  const statementMigrations: Migration[] = [];
  const position = new Map<Migration, number>();
  for (const s of level.statements) {
    const site: Site = { kind: 'unit', unitB: s.unit, unitA: s.unit ? (m.toA.get(s.unit) ?? null) : null };
    const target = s.target
      ? resolver.resolve(s.target, site)
      : { rewrites: [] as Rewrite[], problems: [] as Problem[] };
    const value = s.valueText
      ? { rewrites: [] as Rewrite[], problems: [] as Problem[] }
      : resolver.resolve(s.value, site);
    // Registration code reads and writes its own tables and counters in order, by design.
    const unstable = s.registration ? [] : unstableReads(ctx, s.value);
    const problems = [...target.problems, ...value.problems, ...unstable];
    if (problems.length) {
      refuseWith(ctx, s.name, problems, s.line);
      continue;
    }
    const mg = statementMigration(B, s, target.rewrites, value.rewrites, site.unitA?.key);
    statementMigrations.push(mg);
    position.set(mg, s.value.start);
    if (s.registration) continue; // reported once for the unit (registrations-rerun)
    if (s.kind === 'rerun') ctx.note('state-rebuilt', s.name, { detail: s.name }, s.line);
    else ctx.note(s.inPlace ? 'object-updated' : 'export-assigned', s.name, { detail: s.name }, s.line);
  }
  const migrations: Migration[] = [];
  cellsUsed(ctx, resolver, level.cells, migrations, position);
  migrations.push(...statementMigrations);
  // In the fixed code's order: what a statement computes can depend on what comes before it.
  // ES module imports first (they load before the module's code), memo resets last.
  const at = (x: Migration) =>
    x.kind === 'import' ? -1 : x.kind === 'reset' ? Number.POSITIVE_INFINITY : (position.get(x) ?? 0);
  migrations.sort((x, y) => at(x) - at(y));
  for (const r of memoResets(ctx, pairs, new Set(changed.keys()))) {
    const unitA = r.unit ? (m.toA.get(r.unit) ?? null) : null;
    migrations.push({
      kind: 'reset',
      target: r.name,
      source: r.initial,
      author: false,
      ...(unitA ? { scope: unitA.key } : {}),
    });
    ctx.note('memo-reset', r.name, { detail: r.builder });
  }

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

/**
 * A changed closure that dies with the call that made it but needs variables only the function
 * making it has (block-scoped ones, or new ones): that function is redirected instead, and its
 * replacement makes the closure anew.
 */
function promoteHosts(
  ctx: DiffContext,
  changed: Map<FunctionInfo, ChangedFunction>,
  transience: Transience,
  resolver: Resolver,
): void {
  const { m } = ctx;
  const ancestorChanged = (f: FunctionInfo) => {
    for (let p = f.parent; p; p = p.parent) if (changed.has(p)) return true;
    return false;
  };
  for (let again = true; again; ) {
    again = false;
    for (const fb of [...changed.keys()]) {
      const host = fb.parent;
      if (!host || host.once || !m.toA.has(host) || ancestorChanged(fb)) continue;
      const fa = m.toA.get(fb)!;
      if (!transience.isTransient(fa)) continue;
      const trial = resolver.resolve(fb.node, { kind: 'function', fb, fa, parentChanged: false });
      if (!trial.problems.some((p) => p.id === 'binding-unreachable') && trial.stale.length === 0) continue;
      changed.set(host, { id: 'host-of-changed-closure', detail: fa.key });
      again = true;
    }
  }
}

/** One restart verdict for a function or statement, with every reason. */
function refuseWith(ctx: DiffContext, name: string, problems: Problem[], line: number): void {
  const first = problems[0]!;
  const rest = problems.slice(1).map((p) => p.detail);
  ctx.refuse(first.id, name, { detail: [first.detail, ...rest].join('; ') }, line);
}

/** What the redirect engine cannot do for this function, whatever it references. */
function functionProblems(
  ctx: DiffContext,
  fb: FunctionInfo,
  fa: FunctionInfo,
  shape: ReturnType<typeof guardShape>,
): Problem[] {
  const { A, B, m } = ctx;
  const out: Problem[] = [];
  if (fb.isArrow && fb.usesArguments)
    out.push({ id: 'unsupported-syntax', detail: 'arrow function uses the enclosing `arguments`' });
  if (fb.usesNewTarget && fb.kind !== 'constructor')
    out.push({ id: 'unsupported-syntax', detail: 'uses `new.target`' });
  // A function may become an arrow, a method or a declaration (bundlers and compilers change
  // these freely): calls reach it the same way, unless `this`/`arguments` would mean something
  // else. Async, generator, getter, setter and constructor are what callers see: those must stay.
  const what = (f: FunctionInfo) =>
    `${f.isAsync ? 'async ' : ''}${f.isGenerator ? 'generator ' : ''}${f.kind}`;
  const plain = new Set(['declaration', 'expression', 'arrow', 'method']);
  if (
    fa.isGenerator !== fb.isGenerator ||
    fa.isAsync !== fb.isAsync ||
    (fa.kind !== fb.kind && !(plain.has(fa.kind) && plain.has(fb.kind))) ||
    (fa.isArrow !== fb.isArrow && (fb.usesThis || fb.usesArguments))
  )
    out.push({ id: 'function-kind-changed', detail: `${what(fa)} → ${what(fb)}` });
  if (shape.call === 'arrow' || shape.call === 'params') {
    // The guard passes the baseline's parameters: the new code must take the same ones.
    const pa = tokenTexts(A, fa.paramsRange[0], fa.paramsRange[1]);
    const pb = tokenTexts(B, fb.paramsRange[0], fb.paramsRange[1], [], (n) => runningName(ctx, fb, n));
    if (fa.simpleParams) {
      // Each running parameter is passed as one value: the new code's first ones must take one
      // value each (a name, with a default or not); the ones it adds are not passed.
      const bp = fb.node.params as AstNode[];
      const n = fa.paramNames.length;
      if (bp.length < n || !bp.slice(0, n).every((p) => paramName(p) !== null))
        out.push({ id: 'parameters-changed', detail: '' });
    } else if (!sameTokens(pa, pb)) out.push({ id: 'parameters-changed', detail: '' });
    if (
      !fb.isArrow &&
      fb.usesArguments &&
      !(shape.self === null && shape.scope === null && argumentsReadAsDefaults(fb.body, fb.node))
    )
      out.push({ id: 'arguments-added', detail: '' });
    if (fa.simpleParams && addedParameters(fa, fb, shape)) {
      const reason = extraArgumentsReason(B.ast, fb.node, fb.key, fa.paramNames.length);
      if (reason) out.push({ id: 'parameters-passed', detail: reason });
    }
  }
  if (shape.call === 'construct' && shape.scope)
    out.push({ id: 'unsupported-syntax', detail: 'derived-class constructor inside another function' });
  if (shape.call === 'construct' && hasPrivate(fb.classNode))
    out.push({
      id: 'unsupported-syntax',
      detail: 'derived-class constructor of a class with private members',
    });
  if (shape.call !== 'construct' && usesPrivate(fb.body))
    out.push({
      id: 'unsupported-syntax',
      detail: 'uses private members (#name), which only the class body can reach',
    });
  return out;
}

/** What new parameters the fixed function takes (they get their defaults), or null. */
function addedParameters(
  fa: FunctionInfo,
  fb: FunctionInfo,
  shape: ReturnType<typeof guardShape>,
): string | null {
  if (shape.call !== 'params' && shape.call !== 'arrow') return null;
  const bp = fb.node.params as AstNode[];
  const extra = bp
    .slice(fa.paramNames.length)
    .map((p) => paramName(p) ?? (p.type === 'RestElement' ? '…' : '{…}'));
  if (fb.usesArguments && !fb.isArrow) extra.push('arguments beyond the old ones');
  return fa.simpleParams && extra.length ? extra.join(', ') : null;
}

function hasPrivate(cls: AstNode | null): boolean {
  if (!cls) return false;
  return ((cls.body as AstNode).body as AstNode[]).some(
    (x) => (x.key as AstNode | undefined)?.type === 'PrivateIdentifier',
  );
}

function usesPrivate(node: AstNode): boolean {
  if (node.type === 'PrivateIdentifier') return true;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'type') continue;
    if (Array.isArray(v)) {
      for (const x of v)
        if (x && typeof x === 'object' && 'type' in x && usesPrivate(x as AstNode)) return true;
    } else if (v && typeof v === 'object' && 'type' in (v as object) && usesPrivate(v as AstNode))
      return true;
  }
  return false;
}

/** The prototype `super` resolves against in a method of a module-level class, as an expression. */
function homeObject(ctx: DiffContext, fb: FunctionInfo): string | null {
  const cls = fb.ownerClass;
  const id = cls?.id as AstNode | undefined;
  if (!cls || cls.type !== 'ClassDeclaration' || !id || !cls.superClass) return null;
  const v = ctx.B.moduleScope.set.get(id.name as string);
  if (!v || declaringFunction(ctx.B, v) !== null || isReassigned(v)) return null;
  const name = ctx.m.rename(id.name as string);
  const isStatic = ctx.B.functions.includes(fb) && isStaticMember(cls, fb);
  return isStatic ? `Object.getPrototypeOf(${name})` : `Object.getPrototypeOf(${name}.prototype)`;
}

function isStaticMember(cls: AstNode, fb: FunctionInfo): boolean {
  return ((cls.body as AstNode).body as AstNode[]).some((x) => x.value === fb.node && Boolean(x.static));
}

/**
 * V8 LiveEdit keeps existing closures on their old code, silently, when a change alters the
 * variable layout of an enclosing scope; dropping the last reference to a captured variable does.
 * So the LiveEdit form keeps referring (in dead code) to every enclosing variable the old code used.
 */
function keepLayout(
  ctx: DiffContext,
  fb: FunctionInfo,
  fa: FunctionInfo,
  cells: Map<unknown, Cell>,
  rewrites: Rewrite[],
): void {
  const { A, B, m } = ctx;
  const still = new Set(
    freeRefs(B, fb.node)
      .filter((r) => !cells.has(r.resolved!))
      .map((r) => m.rename(r.resolved!.name)),
  );
  const retained = (v: NonNullable<ReturnType<typeof freeRefs>[number]['resolved']>) => {
    if (v.scope === A.moduleScope) return A.moduleCaptured.has(v.name);
    const owner = A.functions.find((f) => f.node === v.scope.variableScope.block);
    return owner?.captured.includes(v.name) ?? false;
  };
  const dropped = [
    ...new Set(
      freeRefs(A, fa.node)
        .filter((r) => !still.has(r.resolved!.name) && retained(r.resolved!))
        .map((r) => r.resolved!.name),
    ),
  ];
  if (dropped.length) rewrites.push(retention(fb, dropped));
}

/** Reports cells the live changes use, and turns those that can be computed at apply into migrations. */
function cellsUsed(
  ctx: DiffContext,
  resolver: Resolver,
  cells: Map<unknown, Cell>,
  out: Migration[],
  position: Map<Migration, number>,
): void {
  const imported = new Set<string>();
  // A cell's initializer can use other cells: until no new one is found in use.
  const done = new Set<Cell>();
  for (let found = true; found; ) {
    found = false;
    for (const cell of cells.values()) {
      if (!cell.used || done.has(cell)) continue;
      done.add(cell);
      found = true;
      const before = out.length;
      cellUsed(ctx, resolver, cell, imported, out);
      for (const mg of out.slice(before)) position.set(mg, cell.init?.start ?? 0);
    }
  }
  for (const cell of cells.values())
    if (!cell.used && cell.id !== 'constant-changed' && cell.id !== 'imported-constant-changed')
      ctx.note('declaration-unused', cell.name, {}, cell.line);
}

function cellUsed(
  ctx: DiffContext,
  resolver: Resolver,
  cell: Cell,
  imported: Set<string>,
  out: Migration[],
): void {
  const { m } = ctx;
  {
    const where = cell.unit ? `in ${m.keyInA(cell.unit)}` : 'at module level';
    if (cell.providedBy !== undefined) {
      ctx.note(
        'import-added',
        cell.name,
        { where, detail: `a new export of ${cell.providedBy}, which the patch creates` },
        cell.line,
      );
      return;
    }
    if (cell.importSpec !== undefined) {
      if (!imported.has(cell.importSpec)) {
        imported.add(cell.importSpec);
        out.push({ kind: 'import', key: cell.key, source: cell.importSpec, author: false });
        ctx.note('import-added', cell.name, { where, detail: cell.importSpec }, cell.line);
      }
      return;
    }
    if (cell.id !== 'constant-changed' && cell.id !== 'imported-constant-changed') {
      const detail = cell.init
        ? ctx.B.source.slice(cell.init.start, Math.min(cell.init.end, cell.init.start + 40))
        : '';
      ctx.note(cell.id, cell.name, { where, detail }, cell.line);
    }
    const unstable = cell.init ? unstableReads(ctx, cell.init) : [];
    if (unstable.length) {
      refuseWith(ctx, cell.name, unstable, cell.line);
      return;
    }
    // Created at apply, so that an initializer that throws refuses the patch with nothing changed.
    const unitA = cell.unit ? (m.toA.get(cell.unit) ?? null) : null;
    const res = {
      rewrites: [] as Rewrite[],
      problems: [] as Problem[],
      stale: [] as string[],
      liveEditNote: null,
    };
    const source = resolver.cellInit(cell, res);
    if (res.problems.length || res.stale.length) {
      refuseWith(
        ctx,
        cell.name,
        res.problems.length ? res.problems : [{ id: 'stale-closure-state', detail: res.stale.join(', ') }],
        cell.line,
      );
      return;
    }
    out.push({
      kind: 'cell',
      key: cell.key,
      source,
      author: false,
      ...(unitA ? { scope: unitA.key } : {}),
      ...(cell.shared ? { shared: true } : {}),
    });
  }
}

/**
 * Module-level variables an initializer reads that running code reassigns: its value at apply
 * could differ from the value a fresh load computes.
 */
function unstableReads(ctx: DiffContext, node: AstNode): Problem[] {
  const out: Problem[] = [];
  for (const r of freeRefs(ctx.B, node)) {
    const v = r.resolved!;
    if (declaringFunction(ctx.B, v) !== null) continue;
    const va = ctx.A.moduleScope.set.get(ctx.m.rename(v.name));
    if (va && changedAfterLoad(ctx, va) && !isInsideFunction(ctx, r.identifier.start, node))
      out.push({ id: 'state-initialised-at-load', detail: `${v.name}, which running code changes` });
  }
  return out;
}

/** Written by functions that run after load (writes at the top level, or in run-once wrappers, are done by then). */
function changedAfterLoad(ctx: DiffContext, v: Variable): boolean {
  return v.references.some((r) => {
    if (!r.isWrite() || r.init) return false;
    const f = innermostFunction(ctx.A, r.identifier.start);
    return f !== null && !f.once;
  });
}

/** References inside a function of the initializer run later (when called), not at apply. */
function isInsideFunction(ctx: DiffContext, pos: number, node: AstNode): boolean {
  return ctx.B.functions.some(
    (f) => f.node.start >= node.start && f.node.end <= node.end && f.node.start <= pos && pos < f.node.end,
  );
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
