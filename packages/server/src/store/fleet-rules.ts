/** What the fleet's rules read: reconcile's inputs, due ring deferrals, the rollback rule's and the health gate's rows. */
import type { Sql } from '../db/types.js';
import type { Deployment, DeploymentDevice, Labels, RollbackRule } from '../fleet/model.js';
import { json } from './convert.js';
import { toDeployment, toDeploymentDevice } from './deployments.js';

/** Devices connected here whose ring deferral has come due. */
export async function dueDevices(q: Sql): Promise<string[]> {
  const rows = await q.query<{ device_id: string }>(
    "SELECT DISTINCT device_id FROM deployment_devices WHERE state = 'scheduled' AND scheduled_for <= now()",
  );
  return rows.map((r) => r.device_id);
}

/** What reconcile needs about a batch of devices: the device rows, the deployments that concern them, their rows. */
export async function reconcileInputs(
  q: Sql,
  deviceIds: readonly string[],
): Promise<{
  devices: Array<{ id: string; labels: Labels; policyId: string | null; revoked: boolean }>;
  deployments: Deployment[];
  rows: DeploymentDevice[];
}> {
  const devices = (
    await q.query('SELECT id, labels, policy_id, revoked_at FROM devices WHERE id = ANY($1)', [deviceIds])
  ).map((d) => ({
    id: String(d.id),
    labels: json<Labels>(d.labels, {}),
    policyId: (d.policy_id as string | null) ?? null,
    revoked: d.revoked_at !== null && d.revoked_at !== undefined,
  }));
  const deployments = (
    await q.query(
      `SELECT * FROM deployments WHERE state = 'active'
       OR (state = 'reverted' AND id IN (SELECT deployment_id FROM deployment_devices WHERE device_id = ANY($1) AND state IN ('applying', 'applied', 'pending')))
       ORDER BY created_at`,
      [deviceIds],
    )
  ).map(toDeployment);
  const rows =
    deployments.length === 0
      ? []
      : (
          await q.query(
            'SELECT * FROM deployment_devices WHERE device_id = ANY($1) AND deployment_id = ANY($2)',
            [deviceIds, deployments.map((d) => d.id)],
          )
        ).map(toDeploymentDevice);
  return { devices, deployments, rows };
}

/** The devices behind a deployment's rollback rule: failed ones and those reporting errors. */
export async function rollbackInputs(
  q: Sql,
  deploymentId: string,
): Promise<{
  state: string;
  rule: RollbackRule;
  devices: Array<{ deviceId: string; device: string; state: string; reason: string | null; errors: number }>;
} | null> {
  const dep = (
    await q.query<{ state: string; rollback: unknown }>(
      'SELECT d.state, p.rollback FROM deployments d JOIN policies p ON p.id = d.policy_id WHERE d.id = $1',
      [deploymentId],
    )
  )[0];
  if (!dep) return null;
  const devices = await q.query<{
    device_id: string;
    host: string;
    service: string;
    state: string;
    reason: string | null;
    errors: number;
  }>(
    `SELECT dd.device_id, v.host, v.service, dd.state, dd.reason, dd.errors FROM deployment_devices dd
     JOIN devices v ON v.id = dd.device_id
     WHERE dd.deployment_id = $1 AND (dd.state = 'failed' OR dd.errors > 0) ORDER BY dd.device_id`,
    [deploymentId],
  );
  return {
    state: dep.state,
    rule: json<RollbackRule>(dep.rollback, {}),
    devices: devices.map((d) => ({
      deviceId: d.device_id,
      device: `${d.host}/${d.service}`,
      state: d.state,
      reason: d.reason,
      errors: Number(d.errors),
    })),
  };
}

/** Every device row of these deployments with its health verdict (the gate looks at whole rings). */
export async function gateRows(
  q: Sql,
  deploymentIds: readonly string[],
): Promise<
  Map<string, Array<{ ring: string | null; state: string; verdict: 'pass' | 'fail' | 'inconclusive' | null }>>
> {
  const out = new Map<
    string,
    Array<{ ring: string | null; state: string; verdict: 'pass' | 'fail' | 'inconclusive' | null }>
  >();
  if (deploymentIds.length === 0) return out;
  const rows = await q.query<{
    deployment_id: string;
    ring: string | null;
    state: string;
    verdict: string | null;
  }>(
    `SELECT dd.deployment_id, dd.ring, dd.state, h.verdict FROM deployment_devices dd
     LEFT JOIN deployment_health h ON h.deployment_id = dd.deployment_id AND h.device_id = dd.device_id
     WHERE dd.deployment_id = ANY($1)`,
    [deploymentIds],
  );
  for (const r of rows) {
    const list = out.get(r.deployment_id) ?? [];
    list.push({
      ring: r.ring,
      state: r.state,
      verdict: (r.verdict as 'pass' | 'fail' | 'inconclusive' | null) ?? null,
    });
    out.set(r.deployment_id, list);
  }
  return out;
}
