import type { Bundle, TrustStore } from '@hotpatch/core';
import type { Engines } from './engine-pair.js';
import type { EngineName, ModuleRecord } from './engines/types.js';
import type { ModuleIndex } from './module-index.js';
import { labelOf } from './targets.js';

/**
 * What a patch is doing in this process, as found by checking the running code:
 * - applied: every loaded instance of its files runs the patched code (verified);
 * - staged: none of its files is loaded; they load patched;
 * - pending: not applied yet, a changed function is running (retried; nothing changed);
 * - revert-pending: a revert waits for a changed function to return (the patch still runs whole);
 * - failed: the running code is neither all patched nor all baseline, or an apply gave up.
 */
export type PatchState = 'applied' | 'staged' | 'pending' | 'revert-pending' | 'failed';

export interface ActivePatch {
  bundle: Bundle;
  bytes: Buffer;
  appliedAt: string | null;
  /** An apply or revert waiting for a changed function to return, and why. */
  pending: { op: 'apply' | 'revert'; reason: string } | null;
  /** The entry this pending apply replaces (a lower level), put back if the apply gives up. */
  replaces: ActivePatch | null;
  /** Why the last retry gave up, when it did. */
  error: string | null;
}

export interface ApplyResult {
  patchId: string;
  version: string;
  target: string;
  state: PatchState | 'already-applied' | 'reverted';
  modules: number;
  reason?: string;
}

export interface RuntimeStatus {
  pid: number;
  service: string;
  node: string;
  /** Working directory and command line: tell apart two services started from one script (absent from older runtimes). */
  cwd?: string;
  argv?: string[];
  /** Engine for CommonJS modules; ES modules always use the redirect engine. */
  engine: EngineName;
  moduleEngine: EngineName;
  /** Why this engine (absent from older runtimes). */
  engineReason?: string;
  signatureEnforcement: boolean;
  trustedKeys: string[];
  /** Problems found at start-up (unreadable trusted key, unwritable home, bad variable): the app runs, these explain refusals. */
  problems?: string[];
  startedAt: string;
  patches: Array<{
    patchId: string;
    version: string;
    target: string;
    advisories: string[];
    state: PatchState;
    appliedAt: string | null;
    reason: string | null;
    modules: number;
  }>;
  packages: Array<{
    name: string;
    version: string;
    files: Array<{ path: string; sha256: string; patchId: string | null }>;
  }>;
  /** Since start: patches applied, reverted, and applies or reverts that failed (absent from older runtimes). */
  counters?: { applies: number; reverts: number; failures: number };
}

/**
 * The runtime's patching state, which apply, revert, retry and status each take explicitly:
 * the loaded modules, the active patches (by target label) and what they are checked with.
 */
export interface Patching extends Engines {
  readonly service: string;
  readonly trust: TrustStore;
  /** Start-up and store problems, shown in status. */
  readonly problems: string[];
  readonly modules: ModuleIndex;
  /** Active patches by target label. */
  readonly active: Map<string, ActivePatch>;
  /** Default time to keep retrying while a changed function is running. */
  readonly deadlineMs: number;
  /** Retries pending applies and reverts every second until none is left. */
  retryLater(): void;
  /** Called as an apply makes a patch active (its code may import() or add files: load hooks). */
  activating(bundle: Bundle): void;
}

export function resultOf(
  records: readonly ModuleRecord[],
  bundle: Bundle,
  state: ApplyResult['state'],
  reason?: string,
): ApplyResult {
  const p = bundle.payload;
  return {
    patchId: p.patchId,
    version: p.version,
    target: labelOf(p.target),
    state,
    modules: records.filter((r) => r.patchId === p.patchId).length,
    ...(reason ? { reason } : {}),
  };
}
