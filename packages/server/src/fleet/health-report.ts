/**
 * A device's health report for a deployment: stored with its verdict; a breach halts the
 * deployment (and, when the policy says rollback, reverts it), with the signal, the device and
 * the numbers in the deployment's halt reason and in the audit log (actor system).
 */
import type { HealthWindow } from '@hotpatch/protocol';
import type { Sql } from '../db/types.js';
import { audit, haltDeployment, healthContext, revertDeployment, upsertHealth } from '../store.js';
import { type HealthVerdict, healthVerdict } from './health-gate.js';

export interface HealthOutcome {
  verdict: HealthVerdict | null;
  halted: boolean;
  reverted: boolean;
}

/** Inside tx: records the report and applies the gate. A deployment without a gate stores nothing. */
export async function recordHealth(
  tx: Sql,
  report: { deploymentId: string; deviceId: string; before: HealthWindow; after: HealthWindow },
): Promise<HealthOutcome> {
  const none = { verdict: null, halted: false, reverted: false };
  const dep = await healthContext(tx, report.deploymentId, report.deviceId);
  const gate = dep?.gate;
  if (!dep || !gate) return none;
  const verdict = healthVerdict(gate, report.before, report.after);
  await upsertHealth(tx, { ...report, ring: dep.ring, verdict });
  if (verdict.verdict !== 'fail' || dep.state !== 'active' || dep.halted_at)
    return { verdict, halted: false, reverted: false };
  const device = `${dep.host}/${dep.service}`;
  const why = `${device} (ring ${dep.ring ?? '?'}): ${verdict.breaches.map((b) => b.text).join('; ')} over ${gate.windowSeconds} s`;
  await haltDeployment(tx, report.deploymentId, why);
  const detail = {
    reason: why,
    onBreach: gate.onBreach,
    device: { deviceId: report.deviceId, device, ring: dep.ring },
    breaches: verdict.breaches,
    before: report.before,
    after: report.after,
  };
  await audit(tx, 'system', 'deployment.health-halt', report.deploymentId, detail);
  let reverted = false;
  if (
    gate.onBreach === 'rollback' &&
    (await revertDeployment(tx, report.deploymentId, `health gate: ${why}`))
  ) {
    await audit(tx, 'system', 'deployment.auto-rollback', report.deploymentId, detail);
    reverted = true;
  }
  return { verdict, halted: true, reverted };
}
