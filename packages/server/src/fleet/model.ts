/** Row shapes the fleet logic works on (mapped from SQL in store.ts). */
import type { BundleView, DeploymentState, DeviceState, Facts } from '@hotpatch/protocol';
import type { HealthGate } from './health-gate.js';

export { DEVICE_STATES, type DeploymentState, type DeviceState, TERMINAL_STATES } from '@hotpatch/protocol';

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
  /**
   * Revert when patched functions threw this many uncaught errors in total, each device counting
   * for at most ERRORS_PER_DEVICE (so that one device cannot trip it alone).
   */
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
  /** Ring promotion gated on devices' health before/after the patch (null: no gate). */
  health?: HealthGate | null;
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

/** What the agent sends (the runtime's status()), as checked by the protocol schema. */
export type StoredFacts = Facts;

/** A published bundle's metadata: the API's bundle view (packages/protocol). */
export type BundleMeta = BundleView;

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
  /** Set when the health gate stopped the rollout: no further device is sent the patch. */
  haltedAt?: string | null;
  haltReason?: string | null;
}

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
