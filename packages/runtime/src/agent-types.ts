import type { ApplyResult, RuntimeStatus } from './patching.js';

/** What the agent needs from the runtime (HotpatchRuntime has it). */
export interface AgentRuntime {
  readonly service: string;
  apply(bytes: Buffer): Promise<ApplyResult>;
  revert(patchId: string): ApplyResult;
  status(): RuntimeStatus;
  readonly records?: ReadonlyArray<{ filename: string; patchId: string | null }>;
}
