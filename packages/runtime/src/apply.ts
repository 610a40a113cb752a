/** The apply transaction: a signed bundle checked, stored, then applied to every loaded instance or none. */
import { HotpatchError, isHotpatchError } from '@hotpatch/core';
import { giveUp } from './active.js';
import { engineOf, enginesInOrder, verifyQuietly } from './engine-pair.js';
import { RedirectEngine } from './engines/redirect.js';
import type { Prepared, Refusal } from './engines/types.js';
import { checkedBundle } from './off-thread.js';
import { type ActivePatch, type ApplyResult, type Patching, resultOf } from './patching.js';
import { observe } from './status.js';
import { storeFile, writeDurable, writeDurableAsync } from './store.js';
import { notLoadedReason, plan, rememberLabel } from './targets.js';
import { commitAll, rollbackAll, safePrepareAsync } from './transaction.js';

/**
 * Applies a signed bundle: all files or none, verified after. The bundle is stored first (a
 * restarted process must come back patched); when it cannot be stored, nothing changes. When a
 * changed function is running, it is retried until the deadline and then reported pending (and
 * retried every second); when the apply fails, the stored state is put back as it was.
 */
export async function applyBundle(
  p: Patching,
  bytes: Buffer,
  opts: { deadlineMs?: number },
): Promise<ApplyResult> {
  // Parsed, validated and its signature checked off the event loop (off-thread.ts), from a
  // turn of its own (the request's turn decoded it; the checker's start is a step too).
  await new Promise((r) => setImmediate(r));
  const { bundle, label } = await checkedBundle(bytes, p.trust).catch((e: unknown) => {
    throw explained(p.problems, e);
  });
  const payload = bundle.payload;
  rememberLabel(payload.target, label);
  const current = p.active.get(label);
  if (current?.bundle.payload.patchId === payload.patchId) {
    const seen = observe(p, current);
    if (seen.state === 'applied' || seen.state === 'revert-pending') {
      if (current.pending?.op === 'revert') {
        // The revert had not changed anything yet: keep the patch, stored again.
        writeDurable(storeFile(p.service, label), current.bytes);
        current.pending = null;
      }
      return resultOf(p.modules.records, bundle, 'already-applied');
    }
  }
  if (
    current &&
    current.bundle.payload.patchId !== payload.patchId &&
    current.bundle.payload.level >= payload.level
  ) {
    throw new HotpatchError(
      'E_APPLY',
      `${label} already runs ${current.bundle.payload.patchId} (level ${current.bundle.payload.level}); ${payload.patchId} is level ${payload.level}`,
    );
  }
  plan(p.modules, bundle); // refuses another baseline before anything is stored
  await writeDurableAsync(storeFile(p.service, label), bytes);
  const replaces = current?.bundle.payload.patchId === payload.patchId ? current.replaces : (current ?? null);
  const entry: ActivePatch = { bundle, bytes, appliedAt: null, pending: null, replaces, error: null };
  try {
    p.activating(bundle);
    p.active.set(label, entry);
    return await retryUntilDeadline(p, entry, opts.deadlineMs ?? p.deadlineMs);
  } catch (e) {
    giveUp(p.service, p.active, label, entry);
    throw e;
  }
}

/** Applies a stored entry, retrying while a changed function is running; then it is pending. */
async function retryUntilDeadline(p: Patching, entry: ActivePatch, deadlineMs: number): Promise<ApplyResult> {
  const { bundle } = entry;
  const records = p.modules.records;
  // Planned again after the write's turns: modules may have loaded meanwhile.
  const work = plan(p.modules, bundle);
  if (work.length === 0) {
    return resultOf(records, bundle, 'staged', notLoadedReason(records, bundle));
  }
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const refused = await applyOnce(p, entry);
    if (!refused) return resultOf(records, bundle, 'applied');
    if (!refused.pending)
      throw new HotpatchError('E_APPLY', `not applied, nothing changed: ${refused.reason}`);
    if (Date.now() >= deadline) {
      entry.pending = { op: 'apply', reason: refused.reason };
      p.retryLater();
      return resultOf(records, bundle, 'pending', refused.reason);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One attempt: changes every loaded instance of the bundle's files (and takes the files an
 * older cumulative patch changed and this one does not back to their baseline) in one
 * transaction across engines, then verifies; anything short of that is undone.
 */
export async function applyOnce(p: Patching, entry: ActivePatch): Promise<Refusal | null> {
  const work = plan(p.modules, entry.bundle);
  const previous = entry.replaces?.bundle.payload.patchId;
  const leftovers = previous
    ? p.modules.records.filter((r) => r.patchId === previous && !work.some((w) => w.record === r))
    : [];
  const parts: Prepared[] = [];
  for (const engine of enginesInOrder(p)) {
    const mine = work.filter((w) => engineOf(p, w.record) === engine);
    const back = leftovers.filter((r) => engineOf(p, r) === engine);
    for (const prepare of [
      // The redirect engine loads the ES modules a patch imports before it prepares.
      mine.length
        ? () => (engine instanceof RedirectEngine ? engine.prepareAsync(mine) : engine.prepare(mine))
        : null,
      back.length ? () => engine.prepareRevert(back) : null,
    ]) {
      if (!prepare) continue;
      const prepared = await safePrepareAsync(prepare);
      if (!prepared.ok) {
        rollbackAll(parts);
        return prepared;
      }
      parts.push(prepared);
    }
  }
  const refused = commitAll(parts);
  if (refused) return refused;
  const problems = [
    ...work.map((w) => verifyQuietly(p, w.record, w)),
    ...leftovers.map((r) => verifyQuietly(p, r, null)),
  ].filter((x): x is string => x !== null);
  if (problems.length) {
    rollbackAll(parts);
    throw new HotpatchError('E_VERIFY', `applied code could not be verified, rolled back: ${problems[0]}`);
  }
  for (const w of work) w.record.patchId = entry.bundle.payload.patchId;
  for (const r of leftovers) r.patchId = null;
  entry.pending = null;
  entry.replaces = null;
  entry.appliedAt = new Date().toISOString();
  return null;
}

/** An untrusted key's refusal names the start-up problems (an unreadable key file explains it). */
function explained(problems: readonly string[], e: unknown): unknown {
  if (isHotpatchError(e) && e.code === 'E_UNTRUSTED_KEY' && problems.length)
    return new HotpatchError(e.code, `${e.message} (${problems.join('; ')})`);
  return e;
}
