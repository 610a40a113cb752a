/** Row shapes the fleet logic works on (mapped from SQL in store.ts). */
import type { DeviceFacts } from '@hotpatch/core';

export type Labels = Record<string, string>;

export interface Ring {
  name: string;
  /** Labels a device must all carry; {} matches every device. */
  selector: Labels;
  deferralDays: number;
}

export interface RollbackRule {
  /** Revert the deployment when this many devices failed to apply. */
  maxFailures?: number;
  /** Revert when patched functions threw this many uncaught errors in total. */
  maxErrors?: number;
}

export interface Policy {
  id: string;
  name: string;
  allowHotpatch: boolean;
  rings: Ring[];
  deadlineDays: number;
  paused: boolean;
  rollback: RollbackRule;
  isDefault: boolean;
  position: number;
  createdAt: string;
  updatedAt: string;
}

export interface Device {
  id: string;
  host: string;
  service: string;
  labels: Labels;
  policyId: string | null;
  enrolledAt: string;
  revokedAt: string | null;
  lastSeen: string | null;
  connected: boolean;
  facts: StoredFacts | null;
}

/** What the agent sends: the runtime's status(). */
export interface StoredFacts extends DeviceFacts {
  pid: number;
  service: string;
  startedAt: string;
  patches: Array<{
    patchId: string;
    version: string;
    target: string;
    state: string;
    appliedAt: string | null;
    reason: string | null;
  }>;
}

export interface BundleMeta {
  patchId: string;
  version: string;
  level: number;
  title: string;
  severity: string;
  advisories: string[];
  targetName: string;
  targetBaseline: string;
  fixedIn: string | null;
  files: Array<{ path: string; baselineSha256: string }>;
  keyId: string;
  sha256: string;
  publishedAt: string;
  publishedBy: string;
  advisoryPublishedAt: string | null;
}

export type DeploymentState = 'active' | 'reverted';

export interface Deployment {
  id: string;
  patchId: string;
  policyId: string;
  state: DeploymentState;
  expedite: boolean;
  createdAt: string;
  createdBy: string;
  revertedAt: string | null;
  revertReason: string | null;
}

export const DEVICE_STATES = [
  'not-applicable',
  'ineligible',
  'scheduled',
  'applying',
  'applied',
  'pending',
  'failed',
  'reverted',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<DeviceState> = new Set([
  'not-applicable',
  'ineligible',
  'applied',
  'failed',
  'reverted',
]);

export interface DeploymentDevice {
  deploymentId: string;
  deviceId: string;
  state: DeviceState;
  ring: string | null;
  reason: string | null;
  action: string | null;
  scheduledFor: string | null;
  instanceId: number | null;
  errors: number;
  appliedAt: string | null;
  updatedAt: string;
}
