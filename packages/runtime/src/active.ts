/**
 * The active patches, in memory and on disk: each is stored before it changes anything (a
 * restarted process comes back patched), read back and checked again at start, and put back as
 * it was when an apply gives up or a revert fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HotpatchError, type TrustStore } from '@hotpatch/core';
import { assertRunnable } from './compat.js';
import { heavy } from './lazy.js';
import type { ActivePatch } from './patching.js';
import { activeDir } from './paths.js';
import { fsReason, removeDurable, storeFile, writeDurable } from './store.js';
import { labelOf } from './targets.js';
import { warnOnce } from './warn.js';

/** The stored patches of a service, verified again; one that is unreadable or untrusted is a problem. */
export function loadStored(service: string, trust: TrustStore, problems: string[]): Map<string, ActivePatch> {
  const active = new Map<string, ActivePatch>();
  const dir = activeDir(service);
  let names: string[];
  try {
    names = existsSync(dir) ? readdirSync(dir) : [];
  } catch (e) {
    problems.push(`stored patches in ${dir} cannot be read: ${fsReason(e)}`);
    return active;
  }
  for (const name of names) {
    if (!name.endsWith('.hpatch')) continue;
    try {
      const bytes = readFileSync(join(dir, name));
      const bundle = heavy().parseBundle(bytes, name);
      heavy().verifyBundle(bundle, trust);
      assertRunnable(bundle.payload, heavy().KEY_SCHEME);
      active.set(labelOf(bundle.payload.target), {
        bundle,
        bytes,
        appliedAt: null,
        pending: null,
        replaces: null,
        error: null,
      });
    } catch (e) {
      problems.push(`stored patch ${name} ignored: ${(e as Error).message}`);
    }
  }
  return active;
}

/** The active entry of a patch, with its target label. */
export function findActive(active: ReadonlyMap<string, ActivePatch>, patchId: string): [string, ActivePatch] {
  const entry = [...active.entries()].find(([, a]) => a.bundle.payload.patchId === patchId);
  if (!entry) throw new HotpatchError('E_NOT_FOUND', `no patch ${patchId} in this process`);
  return entry;
}

/** An apply that failed: the entry it replaced comes back, in memory and on disk. */
export function giveUp(
  service: string,
  active: Map<string, ActivePatch>,
  label: string,
  entry: ActivePatch,
): void {
  if (active.get(label) === entry) {
    if (entry.replaces) active.set(label, entry.replaces);
    else active.delete(label);
  }
  try {
    if (entry.replaces) writeDurable(storeFile(service, label), entry.replaces.bytes);
    else removeDurable(storeFile(service, label));
  } catch (e) {
    warnOnce(`${(e as Error).message}: a restart may come back with ${entry.bundle.payload.patchId}`);
  }
}

/** A revert that did not happen: the patch is stored again (a restart must come back with it). */
export function restoreStored(service: string, label: string, active: ActivePatch): void {
  try {
    writeDurable(storeFile(service, label), active.bytes);
  } catch (e) {
    warnOnce(`${(e as Error).message}: a restart may come back without ${active.bundle.payload.patchId}`);
  }
}
