/**
 * A device's health report for a deployment: stored with its verdict; a breach halts the
 * deployment (and, when the policy says rollback, reverts it), with the signal, the device and
 * the numbers in the deployment's halt reason and in the audit log (actor system).
 */
import type { HealthWindow } from '@hotpatch/protocol';
import { audit } from '../audit.js';
import type { Sql } from '../db/types.js';
import { revertDeployment } from '../store.js';
import { type HealthGate, type HealthVerdict, healthVerdict } from './health-gate.js';

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
  const dep = (
    await tx.query<{
      state: string;
      halted_at: unknown;
      health: unknown;
      ring: string | null;
      host: string;
      service: string;
    }>(
      `SELECT d.state, d.halted_at, p.health, dd.ring, v.host, v.service FROM deployments d
       JOIN policies p ON p.id = d.policy_id
       JOIN deployment_devices dd ON dd.deployment_id = d.id AND dd.device_id = $2
       JOIN devices v ON v.id = dd.device_id
       WHERE d.id = $1`,
      [report.deploymentId, report.deviceId],
    )
  )[0];
  const gate = (typeof dep?.health === 'string' ? JSON.parse(dep.health) : dep?.health) as HealthGate | null;
  if (!dep || !gate) return none;
  const verdict = healthVerdict(gate, report.before, report.after);
  await tx.query(
    `INSERT INTO deployment_health (deployment_id, device_id, ring, verdict, breaches, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (deployment_id, device_id) DO UPDATE SET ring = $3, verdict = $4, breaches = $5, before = $6, after = $7, reported_at = now()`,
    [
      report.deploymentId,
      report.deviceId,
      dep.ring,
      verdict.verdict,
      JSON.stringify(verdict.breaches),
      JSON.stringify(report.before),
      JSON.stringify(report.after),
    ],
  );
  if (verdict.verdict !== 'fail' || dep.state !== 'active' || dep.halted_at)
    return { verdict, halted: false, reverted: false };
  const device = `${dep.host}/${dep.service}`;
  const why = `${device} (ring ${dep.ring ?? '?'}): ${verdict.breaches.map((b) => b.text).join('; ')} over ${gate.windowSeconds} s`;
  await tx.query(
    'UPDATE deployments SET halted_at = now(), halt_reason = $2 WHERE id = $1 AND halted_at IS NULL',
    [report.deploymentId, why],
  );
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
