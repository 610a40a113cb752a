import { ACCESS, type AstNode, cellExpression, SCOPE_PARAM } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import { parentOfIdentifier } from './scope.js';
import type { Cell } from './state.js';

/**
 * Phase 4, the text of rewrites: a reference to an enclosing variable through the scope accessor,
 * a write to a state cell, and a range of source with rewrites applied in the LiveEdit or the
 * redirect form (references.ts decides which reference becomes which).
 */

export interface Rewrite {
  start: number;
  end: number;
  /** Text for the LiveEdit form (the code stays where it is, its scopes intact). */
  text: string;
  /** Text for the redirect form when it differs. */
  redirectText?: string;
  /** Only in the redirect form (scope accessor calls). */
  redirectOnly?: boolean;
  /** Only in the LiveEdit form (dead references that keep V8's scope layout). */
  liveOnly?: boolean;
  /** An accessor read the replacement may take once at its entry instead (references.ts). */
  snapshot?: string;
}

/**
 * How a replacement reaches an enclosing variable through the scope accessor
 * `__hp$sc(name, value, w)` (convention ACCESS codes). Returns rewrites, or a reason it cannot.
 */
export function scopeAccess(
  ctx: DiffContext,
  id: { start: number; end: number },
  name: string,
  write: boolean,
  readWrite: boolean,
): Array<{ start: number; end: number; text: string }> | string {
  const q = JSON.stringify(name);
  const idStart = id.start;
  if (!write) return [{ start: id.start, end: id.end, text: `${SCOPE_PARAM}(${q})` }];
  const p = parentOfIdentifier(ctx.B, idStart);
  if (p?.type === 'UpdateExpression') {
    const code =
      p.operator === '++'
        ? p.prefix
          ? ACCESS.preIncrement
          : ACCESS.postIncrement
        : p.prefix
          ? ACCESS.preDecrement
          : ACCESS.postDecrement;
    return [{ start: p.start, end: p.end, text: `${SCOPE_PARAM}(${q}, undefined, ${code})` }];
  }
  if (p?.type === 'AssignmentExpression' && (p.left as AstNode).start === idStart) {
    // Replace `x op=` and close after the right-hand side, so that rewrites inside it still apply.
    const right = p.right as AstNode;
    const op = p.operator as string;
    const close = { start: right.end, end: right.end, text: `), ${ACCESS.assign})` };
    if (op === '=') return [{ start: p.start, end: right.start, text: `${SCOPE_PARAM}(${q}, (` }, close];
    if (!readWrite || /^(&&|\|\||\?\?)=$/.test(op)) return `enclosing variable ${name} with ${op}`;
    return [
      {
        start: p.start,
        end: right.start,
        text: `${SCOPE_PARAM}(${q}, ${SCOPE_PARAM}(${q}) ${op.slice(0, -1)} (`,
      },
      close,
    ];
  }
  return `enclosing variable ${name} in a destructuring pattern or loop head`;
}

/** Rewrites a write to a state cell: `x = v` stores into the cell; updates read it first. */
export function cellWrite(
  ctx: DiffContext,
  idStart: number,
  cell: Cell,
  read: { live: string; redirect: string },
): Rewrite[] | string {
  const slot = cellExpression(cell.key, cell.shared);
  const p = parentOfIdentifier(ctx.B, idStart);
  if (p?.type === 'UpdateExpression') {
    const op = p.operator === '++' ? '+' : '-';
    const undo = p.operator === '++' ? '-' : '+';
    const make = (r: string) =>
      p.prefix ? `(${slot} = ${r} ${op} 1)` : `((${slot} = ${r} ${op} 1) ${undo} 1)`;
    return [{ start: p.start, end: p.end, text: make(read.live), redirectText: make(read.redirect) }];
  }
  if (p?.type === 'AssignmentExpression' && (p.left as AstNode).start === idStart) {
    const right = p.right as AstNode;
    const op = p.operator as string;
    const close = { start: right.end, end: right.end, text: '))' };
    if (op === '=') return [{ start: p.start, end: right.start, text: `(${slot} = (` }, close];
    if (/^(&&|\|\||\?\?)=$/.test(op)) return `${cell.name} with ${op}`;
    const bin = op.slice(0, -1);
    return [
      {
        start: p.start,
        end: right.start,
        text: `(${slot} = ${read.live} ${bin} (`,
        redirectText: `(${slot} = ${read.redirect} ${bin} (`,
      },
      close,
    ];
  }
  return `${cell.name} in a destructuring pattern or loop head`;
}

export function liveRewrites(rs: Rewrite[]): Rewrite[] {
  return rs.filter((r) => !r.redirectOnly);
}

/** Redirect form: accessor rewrites win over plain ones of the same identifier. */
export function redirectRewrites(rs: Rewrite[]): Rewrite[] {
  const acc = rs.filter((r) => r.redirectOnly);
  return rs
    .filter((r) => !r.liveOnly)
    .filter(
      (r) => r.redirectOnly || !acc.some((o) => o.end > o.start && o.start <= r.start && o.end >= r.end),
    )
    .map((r) => (r.redirectText === undefined ? r : { ...r, text: r.redirectText }));
}

export function rewriteRange(
  source: string,
  start: number,
  end: number,
  rewrites: Array<{ start: number; end: number; text: string }>,
): string {
  const sorted = [...rewrites].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let pos = start;
  for (const r of sorted) {
    if (r.start < pos) continue; // nested in an earlier rewrite
    out += source.slice(pos, r.start) + r.text;
    pos = r.end;
  }
  return out + source.slice(pos, end);
}
