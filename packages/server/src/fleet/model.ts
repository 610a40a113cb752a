/** Row shapes the fleet logic works on (mapped from SQL in store/). */
import type { BundleView, DeploymentDeviceView, DeploymentInfo, Facts } from '@hotpatch/protocol';
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

/** A deployment as stored: the API's view without what the view adds (policy name, title, phase). */
export type Deployment = Omit<DeploymentInfo, 'policy' | 'paused' | 'title' | 'advisories' | 'phase'> & {
  policyId: string;
};

/** A device's row in a deployment as stored: the API's view without the device's name. */
export type DeploymentDevice = Omit<DeploymentDeviceView, 'device'> & { deploymentId: string };
