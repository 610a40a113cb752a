import type { VerdictId } from '@hotpatch/core';
import type { FunctionInfo } from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import type { Rewrite } from './rewrites.js';

/** What resolving new code's references gives (references.ts), and how a failure is reported. */

export interface Problem {
  id: VerdictId;
  detail: string;
}

/** One restart verdict for a function or statement, with every reason. */
export function refuseWith(ctx: DiffContext, name: string, problems: Problem[], line: number): void {
  const first = problems[0]!;
  const rest = problems.slice(1).map((p) => p.detail);
  ctx.refuse(first.id, name, { detail: [first.detail, ...rest].join('; ') }, line);
}

/** Where new code will run. */
export type Site =
  | { kind: 'function'; fb: FunctionInfo; fa: FunctionInfo; parentChanged: boolean }
  | { kind: 'unit'; unitB: FunctionInfo | null; unitA: FunctionInfo | null };

export interface Resolution {
  rewrites: Rewrite[];
  problems: Problem[];
  /** Variables of a changed parent that only closures made after the patch can reach. */
  stale: string[];
  /** New variables of a changed parent that closures made before the patch read as shadow variables. */
  shadowed?: string[];
  /** The new code refers to LiveEdit-unfriendly state (a module variable no closure retains). */
  liveEditNote: string | null;
}
