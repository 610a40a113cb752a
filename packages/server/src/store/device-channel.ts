/** What the device channel (fleet/hub.ts, fleet/writer.ts) writes: device states and errors, checked against what was sent. */
import type { Sql } from '../db/types.js';
import type { DeviceState } from '../fleet/model.js';

/** One device state write: the scheduler's decision, or a report by the device. */
export interface RowWrite {
  deploymentId: string;
  deviceId: string;
  /** Set for device reports: the write lands only if the deployment carries this patch and was sent to the device. */
  patchId: string | null;
  state: DeviceState;
  ring: string | null;
  reason: string | null;
  action: string | null;
  scheduledFor: string | null;
  instanceId: number | null;
  /** The server sent this deployment (deploy or revert) to the device with this decision. */
  sent: boolean;
}

const compare = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const byPair = (a: RowWrite, b: RowWrite) =>
  compare(a.deploymentId, b.deploymentId) || compare(a.deviceId, b.deviceId);

/** Writes many rows in one statement (last write per key); returns the rows that changed. */
export async function writeRowsBatch(
  q: Sql,
  rows: readonly RowWrite[],
): Promise<Array<{ deployment_id: string; device_id: string; state: string; reason: string | null }>> {
  // In key order: concurrent batches (several server processes) then lock their rows in one order.
  const payload = [...rows].sort(byPair).map((w) => ({
    deployment_id: w.deploymentId,
    device_id: w.deviceId,
    patch_id: w.patchId,
    state: w.state,
    ring: w.ring,
    reason: w.reason,
    action: w.action,
    scheduled_for: w.scheduledFor,
    instance_id: w.instanceId,
    sent: w.sent,
  }));
  return q.query(
    `INSERT INTO deployment_devices AS dd (deployment_id, device_id, state, ring, reason, action, scheduled_for, instance_id, applied_at, sent_at, updated_at)
     SELECT x.deployment_id, x.device_id, x.state, x.ring, x.reason, x.action, x.scheduled_for, x.instance_id,
            CASE WHEN x.state = 'applied' THEN now() END, CASE WHEN x.sent THEN now() END, now()
     FROM jsonb_to_recordset($1::jsonb) AS x(deployment_id text, device_id text, patch_id text, state text, ring text, reason text,
                                             action text, scheduled_for timestamptz, instance_id bigint, sent boolean)
     JOIN deployments d ON d.id = x.deployment_id AND (x.patch_id IS NULL OR d.patch_id = x.patch_id)
     JOIN devices v ON v.id = x.device_id
     WHERE x.patch_id IS NULL OR x.sent OR EXISTS (
       SELECT 1 FROM deployment_devices e WHERE e.deployment_id = x.deployment_id AND e.device_id = x.device_id AND e.sent_at IS NOT NULL)
     ON CONFLICT (deployment_id, device_id) DO UPDATE SET
       state = EXCLUDED.state, ring = COALESCE(EXCLUDED.ring, dd.ring), reason = EXCLUDED.reason, action = EXCLUDED.action,
       scheduled_for = COALESCE(EXCLUDED.scheduled_for, dd.scheduled_for), instance_id = COALESCE(EXCLUDED.instance_id, dd.instance_id),
       applied_at = CASE WHEN EXCLUDED.state = 'applied' THEN COALESCE(dd.applied_at, now()) ELSE dd.applied_at END,
       sent_at = COALESCE(dd.sent_at, EXCLUDED.sent_at),
       updated_at = now()
     WHERE dd.state IS DISTINCT FROM EXCLUDED.state OR dd.reason IS DISTINCT FROM EXCLUDED.reason
       OR dd.action IS DISTINCT FROM EXCLUDED.action OR dd.ring IS DISTINCT FROM COALESCE(EXCLUDED.ring, dd.ring)
       OR dd.scheduled_for IS DISTINCT FROM COALESCE(EXCLUDED.scheduled_for, dd.scheduled_for)
       OR dd.instance_id IS DISTINCT FROM COALESCE(EXCLUDED.instance_id, dd.instance_id)
       OR (dd.sent_at IS NULL AND EXCLUDED.sent_at IS NOT NULL)
     RETURNING dd.deployment_id, dd.device_id, dd.state, dd.reason`,
    [JSON.stringify(payload)],
  );
}

/**
 * Which of these (deployment, device) pairs the server sent (their reports are accepted only
 * then), in one statement: devices failing over from a killed replica re-send their states at once.
 */
export async function sentPairs(
  q: Sql,
  pairs: ReadonlyArray<{ deploymentId: string; deviceId: string }>,
): Promise<Set<string>> {
  const r = await q.query<{ deployment_id: string; device_id: string }>(
    `SELECT dd.deployment_id, dd.device_id FROM deployment_devices dd
     JOIN jsonb_to_recordset($1::jsonb) AS x(deployment_id text, device_id text)
       ON dd.deployment_id = x.deployment_id AND dd.device_id = x.device_id
     WHERE dd.sent_at IS NOT NULL`,
    [JSON.stringify(pairs.map((p) => ({ deployment_id: p.deploymentId, device_id: p.deviceId })))],
  );
  return new Set(r.map((x) => `${x.deployment_id}\n${x.device_id}`));
}

/** Adds errors a device reported for a patch to its active deployments that were sent to it. */
export async function addErrors(q: Sql, deviceId: string, patchId: string, count: number): Promise<string[]> {
  const rows = await q.query<{ deployment_id: string }>(
    `UPDATE deployment_devices SET errors = errors + $3, updated_at = now()
     WHERE device_id = $1 AND sent_at IS NOT NULL
       AND deployment_id IN (SELECT id FROM deployments WHERE patch_id = $2 AND state = 'active')
     RETURNING deployment_id`,
    [deviceId, patchId, count],
  );
  return rows.map((r) => r.deployment_id);
}
