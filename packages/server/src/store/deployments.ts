/** Deployments and their per-device rows: lookups, the planner's rows, revert. */
import type { Row, Sql } from '../db/types.js';
import type { Deployment, DeploymentDevice, DeviceState } from '../fleet/model.js';
import { iso, isoReq } from './convert.js';
import { markDeploymentStale, markDevicesStale } from './status-columns.js';

export function toDeployment(r: Row): Deployment {
  return {
    id: String(r.id),
    patchId: String(r.patch_id),
    policyId: String(r.policy_id),
    state: r.state as Deployment['state'],
    expedite: Boolean(r.expedite),
    createdAt: isoReq(r.created_at),
    createdBy: String(r.created_by),
    revertedAt: iso(r.reverted_at),
    revertReason: (r.revert_reason as string | null) ?? null,
    haltedAt: iso(r.halted_at),
    haltReason: (r.halt_reason as string | null) ?? null,
  };
}

export function toDeploymentDevice(r: Row): DeploymentDevice {
  return {
    deploymentId: String(r.deployment_id),
    deviceId: String(r.device_id),
    state: r.state as DeviceState,
    ring: (r.ring as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    action: (r.action as string | null) ?? null,
    scheduledFor: iso(r.scheduled_for),
    instanceId: r.instance_id === null || r.instance_id === undefined ? null : Number(r.instance_id),
    errors: Number(r.errors ?? 0),
    appliedAt: iso(r.applied_at),
    updatedAt: isoReq(r.updated_at),
  };
}

export async function getDeployment(q: Sql, id: string): Promise<Deployment | null> {
  const r = await q.query('SELECT * FROM deployments WHERE id = $1', [id]);
  return r[0] ? toDeployment(r[0]) : null;
}

/** Every deployment, in no particular order (reports and metrics). */
export async function allDeployments(q: Sql): Promise<Deployment[]> {
  return (await q.query('SELECT * FROM deployments')).map(toDeployment);
}

/** Every deployment, newest first (the API's list). */
export async function listDeployments(q: Sql): Promise<Deployment[]> {
  return (await q.query('SELECT * FROM deployments ORDER BY created_at DESC')).map(toDeployment);
}

/** The active deployment of a patch to a policy, if any (there is at most one). */
export async function activeDeployment(
  q: Sql,
  patchId: string,
  policyId: string,
): Promise<Deployment | null> {
  const r = await q.query(
    "SELECT * FROM deployments WHERE patch_id = $1 AND policy_id = $2 AND state = 'active'",
    [patchId, policyId],
  );
  return r[0] ? toDeployment(r[0]) : null;
}

export async function insertDeployment(
  q: Sql,
  d: { id: string; patchId: string; policyId: string; expedite: boolean; createdBy: string },
): Promise<Deployment> {
  const rows = await q.query(
    'INSERT INTO deployments (id, patch_id, policy_id, state, expedite, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
    [d.id, d.patchId, d.policyId, 'active', d.expedite, d.createdBy],
  );
  return toDeployment(rows[0]!);
}

export async function expediteDeployment(q: Sql, id: string): Promise<void> {
  await q.query('UPDATE deployments SET expedite = true WHERE id = $1', [id]);
}

/** Every deployment's per-device rows (reports and metrics). */
export async function allDeploymentRows(q: Sql): Promise<DeploymentDevice[]> {
  return (await q.query('SELECT * FROM deployment_devices')).map(toDeploymentDevice);
}

export async function deploymentRows(q: Sql, deploymentId: string): Promise<DeploymentDevice[]> {
  return (
    await q.query('SELECT * FROM deployment_devices WHERE deployment_id = $1 ORDER BY device_id', [
      deploymentId,
    ])
  ).map(toDeploymentDevice);
}

/** How many of a deployment's devices are in each state (states with none are absent). */
export async function deploymentStateCounts(q: Sql, deploymentId: string): Promise<Map<string, number>> {
  const rows = await q.query<{ state: string; n: number | string }>(
    'SELECT state, count(*) AS n FROM deployment_devices WHERE deployment_id = $1 GROUP BY state',
    [deploymentId],
  );
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * The planner's rows (one per device, at deployment creation), in statements of up to 5,000 rows:
 * a row per device per round trip took most of the deploy time at 100,000 devices.
 */
export async function upsertRows(
  q: Sql,
  rows: ReadonlyArray<
    Pick<
      DeploymentDevice,
      'deploymentId' | 'deviceId' | 'state' | 'ring' | 'reason' | 'action' | 'scheduledFor' | 'instanceId'
    >
  >,
): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    const payload = rows.slice(i, i + 5000).map((r) => ({
      deployment_id: r.deploymentId,
      device_id: r.deviceId,
      state: r.state,
      ring: r.ring,
      reason: r.reason,
      action: r.action,
      scheduled_for: r.scheduledFor,
      instance_id: r.instanceId,
    }));
    await q.query(
      `INSERT INTO deployment_devices (deployment_id, device_id, state, ring, reason, action, scheduled_for, instance_id, applied_at, updated_at)
       SELECT x.deployment_id, x.device_id, x.state, x.ring, x.reason, x.action, x.scheduled_for, x.instance_id,
              CASE WHEN x.state = 'applied' THEN now() END, now()
       FROM jsonb_to_recordset($1::jsonb) AS x(deployment_id text, device_id text, state text, ring text, reason text,
                                               action text, scheduled_for timestamptz, instance_id bigint)
       ON CONFLICT (deployment_id, device_id) DO UPDATE SET state = EXCLUDED.state, ring = EXCLUDED.ring, reason = EXCLUDED.reason,
         action = EXCLUDED.action, scheduled_for = EXCLUDED.scheduled_for, instance_id = COALESCE(EXCLUDED.instance_id, deployment_devices.instance_id),
         applied_at = CASE WHEN EXCLUDED.state = 'applied' THEN COALESCE(deployment_devices.applied_at, now()) ELSE deployment_devices.applied_at END,
         updated_at = now()
       WHERE deployment_devices.state IS DISTINCT FROM EXCLUDED.state OR deployment_devices.reason IS DISTINCT FROM EXCLUDED.reason
         OR deployment_devices.scheduled_for IS DISTINCT FROM EXCLUDED.scheduled_for OR deployment_devices.instance_id IS DISTINCT FROM EXCLUDED.instance_id`,
      [JSON.stringify(payload)],
    );
  }
}

/** Marks an active deployment reverted; rows that never reached a device settle now (applied ones when devices confirm). */
export async function revertDeployment(q: Sql, id: string, reason: string): Promise<boolean> {
  const r = await q.query(
    "UPDATE deployments SET state = 'reverted', reverted_at = now(), revert_reason = $2 WHERE id = $1 AND state = 'active' RETURNING 1",
    [id, reason],
  );
  if (r.length === 0) return false;
  // Its rows no longer count for the devices' status (fleet/status-columns.ts).
  await markDeploymentStale(q, id);
  await q.query(
    "UPDATE deployment_devices SET state = 'reverted', reason = 'deployment reverted before it reached the device', updated_at = now() WHERE deployment_id = $1 AND state = 'scheduled'",
    [id],
  );
  return true;
}

/** Failed rows back to scheduled; the instance is forgotten so the scheduler does not keep the failure. */
export async function resetFailedRows(q: Sql, deploymentId: string, reason: string): Promise<string[]> {
  const rows = await q.query<{ device_id: string }>(
    `UPDATE deployment_devices SET state = 'scheduled', reason = $2, action = NULL, instance_id = NULL, updated_at = now()
      WHERE deployment_id = $1 AND state = 'failed' RETURNING device_id`,
    [deploymentId, reason],
  );
  await markDevicesStale(
    q,
    rows.map((r) => r.device_id),
  );
  return rows.map((r) => r.device_id).sort();
}
