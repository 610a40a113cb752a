import type { Change } from '@hotpatch/core';
import type { Comparison, LoadResult } from './graph.js';

/**
 * What a load-state comparison decides for a file's refusals. Pure.
 *
 * `changed-at-load` (an unchanged load-time statement reached changed code) is lifted when both
 * releases built the same state. `side-effect-changed` (a changed statement that ran at load) only
 * when the load ran under Node's permission model too: its effect may lie outside the compared
 * state (a file written, a process started), and only that model rules those out.
 */
export const LOAD_TIME_REFUSALS: ReadonlySet<string> = new Set(['changed-at-load', 'side-effect-changed']);

/** A file is worth loading when it is refused, and only for load-time reasons. */
export function needsLoadState(changes: readonly Change[]): boolean {
  const refused = changes.filter((c) => c.verdict === 'restart');
  return refused.length > 0 && refused.every((c) => LOAD_TIME_REFUSALS.has(c.id));
}

/** The outcome of the loads: two of the running release (determinism), one of the fixed one. */
export interface LoadRuns {
  old1: LoadResult;
  old2: LoadResult | null;
  fixed: LoadResult | null;
  /** The fixed release's state against the running one's, under the builder's pairing. */
  compared: Comparison | null;
  /** The running release against itself. */
  repeat: Comparison | null;
}

export type LoadStateDecision =
  | { lift: ReadonlySet<string>; detail: string; refused: Map<string, string> }
  | { lift: null; why: string };

export function loadStateDecision(runs: LoadRuns): LoadStateDecision {
  const { old1, old2, fixed, compared, repeat } = runs;
  if (!old1.ok) return { lift: null, why: `loading the running release failed: ${old1.reason}` };
  if (old2 && !old2.ok)
    return { lift: null, why: `loading the running release again failed: ${old2.reason}` };
  if (!repeat) return { lift: null, why: 'the running release was not loaded twice' };
  if (!repeat.equal)
    return {
      lift: null,
      why: `two loads of the running release differ (${repeat.why}): the load is not deterministic`,
    };
  if (!fixed) return { lift: null, why: 'the fixed release was not loaded' };
  if (!fixed.ok) return { lift: null, why: `loading the fixed release failed: ${fixed.reason}` };
  if (!compared) return { lift: null, why: 'the two loads were not compared' };
  if (!compared.equal)
    return { lift: null, why: `the two releases build different state at load: ${compared.why}` };
  const lift = new Set(['changed-at-load']);
  const refused = new Map<string, string>();
  if (old1.permission) lift.add('side-effect-changed');
  else
    refused.set(
      'side-effect-changed',
      `both releases built the same state, but Node ${old1.node} does not allow the inspector under its permission model, so effects outside that state (files written, processes started) were not ruled out`,
    );
  const detail =
    `both releases were loaded in the builder (Node ${old1.node}${old1.permission ? ', permission model' : ''}, ` +
    `the running one twice) and built the same state (${compared.size} objects and functions compared, closures included` +
    `${compared.readOnlyPrototypes ? `; ${compared.readOnlyPrototypes} class prototypes stay writable, as the running release made them, where the fixed one makes them read-only` : ''}); ` +
    'not covered: loads that depend on the environment (process.env, platform, time, Node version) and effects outside that state';
  return { lift, detail, refused };
}

/** The refusals the comparison leaves, with why it could not lift them. */
export function withLoadStateReason(changes: Change[], decision: LoadStateDecision): Change[] {
  return changes.map((c) => {
    if (c.verdict !== 'restart' || !LOAD_TIME_REFUSALS.has(c.id)) return c;
    const why = decision.lift === null ? decision.why : decision.refused.get(c.id);
    return why ? { ...c, reason: `${c.reason} (not lifted by loading both releases: ${why})` } : c;
  });
}
