import type { Edit, FilePatch, FunctionPatch, Migration } from '@hotpatch/core';
import {
  ARGS_PARAM,
  type AstNode,
  type FunctionInfo,
  type GuardShape,
  type ModuleAnalysis,
  replacementParams,
} from '@hotpatch/instrument';
import { paramName } from './params.js';
import { type Rewrite, redirectRewrites, rewriteRange } from './rewrites.js';
import type { StatementPatch } from './state.js';

/**
 * Phase 5, emission: the texts a bundle carries — replacements shaped for the calling convention,
 * migrations, and the LiveEdit form of the patched source.
 */

/**
 * The replacement the redirect engine compiles in the module's scope for `fb` (fixed version),
 * taking what the baseline's guard passes. `home` is the prototype `super` resolves against,
 * for methods that use it.
 */
export function replacement(
  B: ModuleAnalysis,
  fb: FunctionInfo,
  shape: GuardShape,
  rewrites: Rewrite[],
  home: string | null,
  renamedParams: Map<string, string> = new Map(),
): FunctionPatch {
  // Default values of parameters are code in the function's scope too: rewritten like its body.
  const redirected = redirectRewrites(rewrites);
  const text = (start: number, end: number) =>
    rewriteRange(
      B.source,
      start,
      end,
      redirected.filter((r) => r.start >= start && r.end <= end),
    );
  const params = text(fb.paramsRange[0], fb.paramsRange[1]);
  let body = text(fb.body.start, fb.body.end);
  if (fb.bodyIsExpression) body = `{ return (${body}); }`;
  const asyncKw = fb.isAsync ? 'async ' : '';
  const star = fb.isGenerator ? '*' : '';
  const base = { key: '', call: shape.call };
  if (shape.call === 'construct') {
    const cls = fb.classNode!;
    const heritage = B.source.slice((cls.superClass as AstNode).start, (cls.superClass as AstNode).end);
    const fields = ((cls.body as AstNode).body as AstNode[])
      .filter((m) => m.type === 'PropertyDefinition' && !m.static)
      .map((m) => {
        const text = B.source.slice(m.start, m.end);
        return text.trim().endsWith(';') ? text : `${text};`;
      })
      .join(' ');
    return {
      ...base,
      params: [],
      source: `(class extends (${heritage}) { ${fields} constructor(${params}) ${body} })`,
    };
  }
  const lead = replacementParams(shape);
  if (shape.call === 'apply') {
    const own = `${asyncKw}function${star} (${params}) ${body}`;
    if (lead.length === 0) {
      if (home) return { ...base, params: [], source: method(home, `${asyncKw}${star}`, params, body) };
      return { ...base, params: [], source: `(${own})` };
    }
    // The guard passes the scope (and/or the function itself) first, then `arguments`.
    const wrapper = fb.isGenerator ? `${asyncKw}function*` : 'function';
    const call = `${fb.isGenerator ? 'yield* ' : ''}(${own}).apply(this, ${ARGS_PARAM})`;
    return { ...base, params: lead, source: `(${wrapper} (${lead.join(', ')}) { return ${call}; })` };
  }
  // params / arrow: the guard passes the parameter bindings one by one, after the lead. Simple
  // running parameters: the new code's own parameter list (renamed, with defaults, or longer:
  // new parameters get their defaults). Destructured ones: the names the guard passes.
  const prefix = lead.slice(0, lead.length - shape.params.length);
  const own = fb.node.params as AstNode[];
  const simple =
    own.length >= shape.params.length && shape.params.every((_, i) => paramName(own[i]!) !== null);
  // Destructured or rest: the names the guard passes, under the new code's names when renamed.
  const newName = new Map([...renamedParams].map(([b, a]) => [a, b]));
  const passed = shape.params.map((n) => newName.get(n) ?? n);
  const texts = simple ? own.map((p) => text(p.start, p.end)) : passed;
  const names = simple
    ? own.map(
        (p) =>
          paramName(p) ?? (p.type === 'RestElement' ? `...${paramName(p.argument as AstNode) ?? ''}` : '?'),
      )
    : passed;
  const list = [...prefix, ...texts].join(', ');
  const takes = [...prefix, ...names];
  if (home) return { ...base, params: takes, source: method(home, `${asyncKw}${star}`, list, body) };
  return { ...base, params: takes, source: `(${asyncKw}function${star} (${list}) ${body})` };
}

/** A method whose `super` resolves against `home`: defined in an object literal with that prototype. */
function method(home: string, prefix: string, params: string, body: string): string {
  return `({ __proto__: ${home}, ${prefix}m(${params}) ${body} }).m`;
}

/** Migration texts for statements re-run at apply. */
export function statementMigration(
  B: ModuleAnalysis,
  s: StatementPatch,
  target: Rewrite[],
  value: Rewrite[],
  scope: string | undefined,
): Migration {
  const text = (n: AstNode, rs: Rewrite[]) => rewriteRange(B.source, n.start, n.end, redirectRewrites(rs));
  const scoped = scope === undefined ? {} : { scope };
  if (s.kind === 'rerun')
    return {
      kind: 'rerun',
      source: s.valueText ?? text(s.value, value),
      author: false,
      ...(s.snapshot ? { snapshot: s.snapshot } : {}),
      ...scoped,
    };
  const object = s.targetText ?? text(s.target!, target);
  if (s.kind === 'recompile')
    return {
      kind: 'recompile',
      target: object,
      source: text(s.value, value),
      revert: s.previousText!,
      author: false,
      ...scoped,
    };
  if (s.kind === 'delete')
    return { kind: 'delete', target: object, key: s.key, source: 'void 0', author: false, ...scoped };
  if (s.kind === 'assign')
    return {
      kind: 'assign',
      target: object,
      key: s.key,
      source: s.valueText ?? text(s.value, value),
      author: false,
      ...scoped,
    };
  if (s.descriptorOf) {
    // A class member: the descriptor an object literal gives it, made non-enumerable as in a class.
    const member = text(s.descriptorOf.member, value).replace(/^static\s+/, '');
    return {
      kind: 'define',
      target: s.descriptorOf.isStatic ? object : `${object}.prototype`,
      key: s.key,
      source: `Object.assign(Object.getOwnPropertyDescriptor({ ${member} }, ${s.key}), { enumerable: false })`,
      author: false,
      ...scoped,
    };
  }
  return {
    kind: 'define',
    target: object,
    key: s.key,
    // A getter defined at apply is configurable (the helper's are not), so that a revert can remove it.
    source: s.getter
      ? `({ get: (${text(s.value, value)}), enumerable: true, configurable: true })`
      : text(s.value, value),
    author: false,
    ...scoped,
  };
}

/** Applies edits to the baseline (the LiveEdit form of the patched source). */
export function applyEditsTo(source: string, edits: Edit[]): string {
  let out = '';
  let pos = 0;
  for (const e of [...edits].sort((x, y) => x.start - y.start)) {
    out += source.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + source.slice(pos);
}

/** A dead reference to variables, at the start of the function body (keeps V8's scope layout). */
export function retention(fb: FunctionInfo, names: string[]): Rewrite {
  const list = names.join(', ');
  if (fb.bodyIsExpression) {
    return { start: fb.body.start, end: fb.body.start, text: `0 && void [${list}], `, liveOnly: true };
  }
  let at = fb.body.start + 1;
  for (const st of fb.body.body as AstNode[]) {
    if (st.type === 'ExpressionStatement' && typeof st.directive === 'string') at = st.end;
    else break;
  }
  return { start: at, end: at, text: ` if (0) void [${list}];`, liveOnly: true };
}

export type { FilePatch };
