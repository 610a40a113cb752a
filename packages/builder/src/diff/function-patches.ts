import type { Edit, FunctionPatch } from '@hotpatch/core';
import { type AstNode, type FunctionInfo, guardShape, tokenTexts, type Variable } from '@hotpatch/instrument';
import { type DiffContext, sameTokens } from './context.js';
import { type DirectCalls, directCalls, withDirectCalls } from './direct-calls.js';
import { replacement, retention } from './emit.js';
import type { ChangedFunction } from './functions.js';
import { parameterRenames } from './local-renames.js';
import { argumentsReadAsDefaults, extraArgumentsReason, paramName } from './params.js';
import { type MethodInliner, privateRewrites } from './privates.js';
import { type Problem, type Resolver, refuseWith, runningName, type Site } from './references.js';
import { liveRewrites, type Rewrite, redirectRewrites, rewriteRange } from './rewrites.js';
import { declaringFunction, freeRefs, globalRefs, isReassigned, lineOf } from './scope.js';
import type { Cell } from './state.js';
import { Transience } from './transient.js';

/** What the changed functions become: LiveEdit edits and redirect replacements. */
export interface FunctionPatches {
  edits: Edit[];
  functions: FunctionPatch[];
  /** Why LiveEdit cannot take the patch, or null. */
  liveEdit: string | null;
}

/**
 * Phases 4 and 5, per changed function: its references resolved (references.ts), what the redirect
 * engine cannot do for it, and its LiveEdit edit and redirect replacement (emit.ts).
 */
export function functionPatches(
  ctx: DiffContext,
  changed: Map<FunctionInfo, ChangedFunction>,
  cells: Map<Variable, Cell>,
  resolver: Resolver,
): FunctionPatches {
  const { A, B, m } = ctx;
  const edits: Edit[] = [];
  const functions: FunctionPatch[] = [];
  let liveEdit: string | null = null;
  const transience = new Transience(A);
  promoteHosts(ctx, changed, transience, resolver);
  const direct = directCalls(ctx, changed);
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
    if (outermost.has(fb)) keepLayout(ctx, fb, fa, cells, rewrites);
    withDirectCalls(rewrites, direct, fb.node);
    const privates =
      shape.call === 'construct' ? null : privateRewrites(B, fb, fa, methodInliner(ctx, resolver));
    if (privates) rewrites.push(...privates.rewrites);
    const problems = [
      ...res.problems,
      ...(privates?.problems ?? []),
      ...functionProblems(ctx, fb, fa, shape, direct),
    ];
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
    for (const name of privates?.shadowed ?? []) {
      ctx.note('private-field-shadowed', name, { detail: fa.key }, line);
      liveEdit ??= `${name} is a private field the fix adds, which LiveEdit cannot add to running instances`;
    }
    for (const name of privates?.inlined ?? []) {
      ctx.note('private-method-inlined', name, { detail: fa.key }, line);
      liveEdit ??= `${name} is a private method the fix adds, which LiveEdit cannot add to a running class`;
    }
    if (res.shadowed?.length)
      ctx.note('closure-state-shadowed', fa.key, { detail: res.shadowed.join(', ') }, line);
    const added = addedParameters(fa, fb, shape);
    if (added) ctx.note('parameters-added', fa.key, { detail: added }, line);
    const calls = [...direct.byCall.values()].filter((d) => d.slot === fa.index).length;
    if (added && calls) ctx.note('parameters-passed-directly', fa.key, { detail: `${calls} call(s)` }, line);
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
  return { edits, functions, liveEdit };
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
      const unreachable =
        trial.problems.some((p) => p.id === 'binding-unreachable') || trial.stale.length > 0;
      // New parameters (engine.io's middleware callback `() => …` → `(err) => …`): every instance
      // would be made by the running host, whose guard forwards the old parameters only.
      if (!unreachable && !parametersLost(ctx, fb, fa)) continue;
      changed.set(host, { id: 'host-of-changed-closure', detail: fa.key });
      again = true;
    }
  }
}

const PARAMETER_PROBLEMS = new Set(['parameters-changed', 'parameters-passed', 'arguments-added']);

/** Whether the guard of the running function would not pass what the fixed one takes. */
function parametersLost(ctx: DiffContext, fb: FunctionInfo, fa: FunctionInfo): boolean {
  const none: DirectCalls = { byCall: new Map() };
  return functionProblems(ctx, fb, fa, guardShape(fa), none).some((p) => PARAMETER_PROBLEMS.has(p.id));
}

/** What the redirect engine cannot do for this function, whatever it references. */
function functionProblems(
  ctx: DiffContext,
  fb: FunctionInfo,
  fa: FunctionInfo,
  shape: ReturnType<typeof guardShape>,
  direct: DirectCalls,
): Problem[] {
  const { A, B } = ctx;
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
      const reason = extraArgumentsReason(B.ast, fb.node, fb.key, fa.paramNames.length, (call) =>
        direct.byCall.has(call.start),
      );
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
  return out;
}

/**
 * A new private method's code as a function expression, for a replacement to call in its place
 * (privates.ts): its references resolved where the method stands — the module, or the run-once
 * wrapper around its class, which the replacement's scope accessor reaches too.
 */
function methodInliner(ctx: DiffContext, resolver: Resolver): MethodInliner {
  const { B, m } = ctx;
  return (method, privateEdits) => {
    const fn = method.value as AstNode;
    const info = B.functions.find((f) => f.node === fn);
    const unitB = info?.parent ?? null;
    if (unitB && !unitB.once)
      return { id: 'unsupported-syntax', detail: 'its class is made inside a function' };
    if (info?.usesSuper || info?.usesNewTarget)
      return { id: 'unsupported-syntax', detail: 'uses `super` or `new.target`' };
    const unitA = unitB ? (m.toA.get(unitB) ?? null) : null;
    if (unitB && !unitA) return { id: 'unsupported-syntax', detail: 'its class is in new code' };
    const res = resolver.resolve(fn, { kind: 'unit', unitB, unitA });
    if (res.problems.length) return res.problems[0]!;
    const within = [...redirectRewrites(res.rewrites), ...privateEdits].filter(
      (r) => r.start >= fn.start && r.end <= fn.end,
    );
    const head = `${fn.async ? 'async ' : ''}function${fn.generator ? '*' : ''} `;
    return `${head}${rewriteRange(B.source, fn.start, fn.end, within)}`;
  };
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
