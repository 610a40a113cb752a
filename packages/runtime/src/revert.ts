/** Reverting: every instance back to its baseline in one transaction, verified, or nothing changed. */
import { HotpatchError } from '@hotpatch/core';
import { findActive, giveUp, restoreStored } from './active.js';
import { engineOf, enginesInOrder, verifyQuietly } from './engine-pair.js';
import type { Prepared, Refusal } from './engines/types.js';
import { type ActivePatch, type ApplyResult, type Patching, resultOf } from './patching.js';
import { removeDurable, storeFile } from './store.js';
import { commitAll, rollbackAll, safePrepare } from './transaction.js';

/** One revert attempt, synchronous (the agent's interface): reverted, or pending and retried. */
export function revertNow(p: Patching, patchId: string): ApplyResult {
  const [label, active] = findActive(p.active, patchId);
  if (active.pending?.op === 'apply') return cancelApply(p, label, active);
  removeDurable(storeFile(p.service, label));
  return revertStep(p, label, active, true);
}

/**
 * Reverts, retrying while a changed function is running until the deadline; then the revert is
 * pending (nothing changed, the patch runs whole), retried every second, and status says so.
 */
export async function revertWithin(
  p: Patching,
  patchId: string,
  opts: { deadlineMs?: number },
): Promise<ApplyResult> {
  const [label, active] = findActive(p.active, patchId);
  if (active.pending?.op === 'apply') return cancelApply(p, label, active);
  // Stored state first: a restart while the revert waits comes back unpatched, as asked.
  removeDurable(storeFile(p.service, label));
  const deadline = Date.now() + (opts.deadlineMs ?? p.deadlineMs);
  for (;;) {
    const last = Date.now() >= deadline;
    const result = revertStep(p, label, active, last);
    if (result.state !== 'revert-pending' || last) return result;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reverting a pending apply cancels it: it had changed nothing; what it replaced comes back. */
function cancelApply(p: Patching, label: string, active: ActivePatch): ApplyResult {
  giveUp(p.service, p.active, label, active);
  return {
    ...resultOf(p.modules.records, active.bundle, 'reverted', 'pending apply cancelled; nothing had changed'),
    modules: 0,
  };
}

function revertStep(p: Patching, label: string, active: ActivePatch, last: boolean): ApplyResult {
  const records = p.modules.records;
  let refused: Refusal | null;
  try {
    refused = revertOnce(p, label, active);
  } catch (e) {
    restoreStored(p.service, label, active);
    throw e;
  }
  if (!refused) return { ...resultOf(records, active.bundle, 'reverted'), modules: 0 };
  if (!refused.pending) {
    restoreStored(p.service, label, active);
    throw new HotpatchError('E_APPLY', `not reverted, nothing changed: ${refused.reason}`);
  }
  if (last) {
    active.pending = { op: 'revert', reason: refused.reason };
    active.error = null;
    p.retryLater();
  }
  return resultOf(records, active.bundle, 'revert-pending', refused.reason);
}

/** Every instance back to its baseline in one transaction, verified; or nothing changed. */
export function revertOnce(p: Patching, label: string, active: ActivePatch): Refusal | null {
  const patchId = active.bundle.payload.patchId;
  const records = p.modules.records.filter((r) => r.patchId === patchId);
  const parts: Prepared[] = [];
  for (const engine of enginesInOrder(p)) {
    const mine = records.filter((r) => engineOf(p, r) === engine);
    if (mine.length === 0) continue;
    const prepared = safePrepare(() => engine.prepareRevert(mine));
    if (!prepared.ok) return prepared;
    parts.push(prepared);
  }
  const refused = commitAll(parts);
  if (refused) return refused;
  const problems = records.map((r) => verifyQuietly(p, r, null)).filter((x): x is string => x !== null);
  if (problems.length) {
    rollbackAll(parts);
    throw new HotpatchError('E_VERIFY', `revert could not be verified, nothing changed: ${problems[0]}`);
  }
  for (const r of records) r.patchId = null;
  if (p.active.get(label) === active) p.active.delete(label);
  active.pending = null;
  return null;
}
