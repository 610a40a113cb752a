/**
 * The health gate of a policy (pure): a device's window after the patch against the window
 * before it, and whether a ring may start while earlier rings are being watched. A breach names
 * the signal and the numbers, so that the deployment, the audit log and the operator see why.
 */
import type { HealthGate, HealthWindow } from '@hotpatch/protocol';

/** A policy's health gate: the protocol's (the policies API's request and view). */
export type { HealthGate };

export interface Breach {
  signal: '5xx-rate' | 'loop-p99' | 'crashes';
  before: number;
  after: number;
  limit: number;
  text: string;
}

export interface HealthVerdict {
  verdict: 'pass' | 'fail' | 'inconclusive';
  breaches: Breach[];
  /** Signals that could be compared (the others had no data). */
  measured: Breach['signal'][];
}

const total = (w: HealthWindow) =>
  w.responses.s1xx + w.responses.s2xx + w.responses.s3xx + w.responses.s4xx + w.responses.s5xx;
const round = (x: number) => Math.round(x * 100) / 100;

/** Compares one device's windows against the gate. */
export function healthVerdict(gate: HealthGate, before: HealthWindow, after: HealthWindow): HealthVerdict {
  const breaches: Breach[] = [];
  const measured: Breach['signal'][] = [];
  const minRequests = gate.minRequests ?? 20;
  if (gate.max5xxDeltaPoints !== undefined && total(after) >= minRequests) {
    measured.push('5xx-rate');
    // No traffic before (a quiet process): the baseline is no errors.
    const b = total(before) > 0 ? (100 * before.responses.s5xx) / total(before) : 0;
    const a = (100 * after.responses.s5xx) / total(after);
    if (a - b > gate.max5xxDeltaPoints)
      breaches.push({
        signal: '5xx-rate',
        before: round(b),
        after: round(a),
        limit: gate.max5xxDeltaPoints,
        text: `5xx rate ${round(b)}% -> ${round(a)}% (+${round(a - b)} points, limit +${gate.max5xxDeltaPoints})`,
      });
  }
  if (gate.maxLoopP99Ratio !== undefined && before.loopP99Ms && after.loopP99Ms !== null) {
    measured.push('loop-p99');
    const ratio = after.loopP99Ms / before.loopP99Ms;
    if (ratio > gate.maxLoopP99Ratio)
      breaches.push({
        signal: 'loop-p99',
        before: before.loopP99Ms,
        after: after.loopP99Ms,
        limit: gate.maxLoopP99Ratio,
        text: `event-loop p99 ${before.loopP99Ms} ms -> ${after.loopP99Ms} ms (x${round(ratio)}, limit x${gate.maxLoopP99Ratio})`,
      });
  }
  if (gate.maxCrashDelta !== undefined) {
    measured.push('crashes');
    const crashes = (w: HealthWindow) => w.uncaughtExceptions + w.unhandledRejections;
    const scaled = before.ms > 0 ? (crashes(before) * after.ms) / before.ms : 0;
    if (crashes(after) - scaled > gate.maxCrashDelta)
      breaches.push({
        signal: 'crashes',
        before: round(scaled),
        after: crashes(after),
        limit: gate.maxCrashDelta,
        text: `uncaught exceptions + unhandled rejections ${round(scaled)} -> ${crashes(after)} (limit +${gate.maxCrashDelta})`,
      });
  }
  const verdict = breaches.length > 0 ? 'fail' : measured.length > 0 ? 'pass' : 'inconclusive';
  return { verdict, breaches, measured };
}

export interface GateRow {
  ring: string | null;
  state: string;
  /** The device's health verdict for this deployment, if it reported. */
  verdict: HealthVerdict['verdict'] | null;
}

/** States in which a device of an earlier ring does not take part (nothing to wait for). */
const OUT = new Set(['not-applicable', 'ineligible', 'superseded', 'reverted']);

/**
 * Why a device in `ring` must wait (null: it may go). A halted deployment holds every ring; a ring
 * starts only when every device of the earlier rings that was sent the patch applied it and
 * reported a health window that did not breach the gate (a failed apply holds it too).
 */
export function ringHold(
  gate: HealthGate | null | undefined,
  rings: ReadonlyArray<{ name: string }>,
  ring: string | null,
  halt: string | null,
  rows: readonly GateRow[],
): string | null {
  if (!gate) return null;
  if (halt) return `halted by the health gate: ${halt}`;
  const index = rings.findIndex((r) => r.name === ring);
  if (index <= 0) return null;
  const earlier = new Set(rings.slice(0, index).map((r) => r.name));
  const watched = rows.filter((r) => r.ring !== null && earlier.has(r.ring) && !OUT.has(r.state));
  // A device that failed to apply gave no health evidence: the next ring does not go on without it.
  const failed = watched.filter((r) => r.state === 'failed');
  if (failed.length > 0)
    return `health gate: ${failed.length} device(s) of ring ${[...new Set(failed.map((r) => r.ring))].join(', ')} failed to apply; the next ring waits`;
  const waiting = watched.filter((r) => r.state !== 'applied' || r.verdict === null);
  if (waiting.length === 0) return null;
  const names = [...new Set(watched.map((r) => r.ring))].join(', ');
  return `health gate: waiting for ring ${names} (${watched.length - waiting.length} of ${watched.length} devices watched for ${gate.windowSeconds} s)`;
}
