/**
 * The policy's automatic rollback rule. It counts distinct devices that were sent the deployment
 * and failed, and errors with each device's share capped, so that one device (or a few forged
 * messages) cannot revert a deployment fleet-wide; the audit entry names the devices behind it.
 */

import type { Sql } from '../db/types.js';
import { audit } from '../store/audit.js';
import { revertDeployment, rollbackInputs } from '../store.js';
import type { RollbackRule } from './model.js';

/** The most errors one device contributes to maxErrors. */
export const ERRORS_PER_DEVICE = 10;
/** Devices named in one audit entry (the count is always complete). */
const AUDIT_DEVICES = 100;

export interface RollbackDevice {
  deviceId: string;
  device: string;
  state: string;
  reason: string | null;
  errors: number;
}

/** Why the rule reverts the deployment, or null (pure). */
export function rollbackVerdict(rule: RollbackRule, devices: readonly RollbackDevice[]): string | null {
  const failed = devices.filter((d) => d.state === 'failed').length;
  const errors = devices.reduce((n, d) => n + Math.min(d.errors, ERRORS_PER_DEVICE), 0);
  const erring = devices.filter((d) => d.errors > 0).length;
  if (rule.maxFailures && failed >= rule.maxFailures)
    return `${failed} devices failed (rollback rule: ${rule.maxFailures})`;
  if (rule.maxErrors && errors >= rule.maxErrors)
    return `${errors} errors from patched functions on ${erring} devices (rollback rule: ${rule.maxErrors}, at most ${ERRORS_PER_DEVICE} per device)`;
  return null;
}

/** Applies the rule to one deployment inside tx; true when it reverted it (the caller announces it). */
export async function checkRollback(tx: Sql, deploymentId: string): Promise<boolean> {
  const r = await rollbackInputs(tx, deploymentId);
  if (!r || r.state !== 'active') return false;
  const why = rollbackVerdict(r.rule, r.devices);
  if (!why) return false;
  if (!(await revertDeployment(tx, deploymentId, why))) return false;
  await audit(tx, 'system', 'deployment.auto-rollback', deploymentId, {
    reason: why,
    deviceCount: r.devices.length,
    devices: r.devices.slice(0, AUDIT_DEVICES),
  });
  return true;
}
