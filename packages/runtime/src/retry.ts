/** Pending applies and reverts, retried every second until each applies, reverts or gives up. */
import { HotpatchError } from '@hotpatch/core';
import { giveUp } from './active.js';
import { applyOnce } from './apply.js';
import type { ActivePatch, Patching } from './patching.js';
import { revertOnce } from './revert.js';
import { storeFile, writeDurable } from './store.js';
import { warnOnce } from './warn.js';

export class Retries {
  #timer: NodeJS.Timeout | null = null;

  /** Starts the one-second retry loop unless it runs; it stops when nothing is pending. */
  schedule(p: Patching): void {
    if (this.#timer) return;
    let running = false;
    this.#timer = setInterval(async () => {
      if (running) return;
      const waiting = [...p.active.entries()].filter(([, a]) => a.pending);
      if (waiting.length === 0) {
        clearInterval(this.#timer!);
        this.#timer = null;
        return;
      }
      running = true;
      for (const [label, a] of waiting) {
        try {
          const refused = a.pending?.op === 'revert' ? revertOnce(p, label, a) : await applyOnce(p, a);
          if (!refused) continue;
          if (refused.pending) a.pending = { op: a.pending!.op, reason: refused.reason };
          else throw new HotpatchError('E_APPLY', refused.reason);
        } catch (e) {
          retryFailed(p, label, a, (e as Error).message);
        }
      }
      running = false;
    }, 1000);
    this.#timer.unref();
  }
}

/** A retry that can no longer succeed: an apply gives up (the older state comes back), a revert is cancelled. */
function retryFailed(p: Patching, label: string, a: ActivePatch, why: string): void {
  if (a.pending?.op === 'revert') {
    a.pending = null;
    a.error = `revert failed, the patch stays applied: ${why}`;
    try {
      writeDurable(storeFile(p.service, label), a.bytes);
    } catch (e) {
      warnOnce((e as Error).message);
    }
    return;
  }
  a.pending = null;
  giveUp(p.service, p.active, label, a);
  warnOnce(`${a.bundle.payload.patchId} not applied, nothing changed: ${why}`);
}
