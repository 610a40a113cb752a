/** SQL for the fleet tables, mapped to the model types. Every function takes the Sql to run on (a transaction or the pool). */
import type { Row, Sql } from './db/types.js';
import type {
  BundleMeta,
  Deployment,
  DeploymentDevice,
  Device,
  DeviceState,
  Labels,
  Policy,
  RollbackRule,
  StoredFacts,
} from './fleet/model.js';

const iso = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString()
      : new Date(String(v)).toISOString();
const isoReq = (v: unknown): string => iso(v) ?? '';
const json = <T>(v: unknown, dflt: T): T =>
  v === null || v === undefined ? dflt : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T);

export function toPolicy(r: Row): Policy {
  return {
    id: String(r.id),
    name: String(r.name),
    allowHotpatch: Boolean(r.allow_hotpatch),
    rings: json(r.rings, []),
    deadlineDays: Number(r.deadline_days),
    paused: Boolean(r.paused),
    rollback: json(r.rollback, {}),
    health: json(r.health, null),
    isDefault: Boolean(r.is_default),
    position: Number(r.position),
    createdAt: isoReq(r.created_at),
    updatedAt: isoReq(r.updated_at),
  };
}

export function toDevice(r: Row): Device {
  return {
    id: String(r.id),
    host: String(r.host),
    service: String(r.service),
    labels: json(r.labels, {}),
    policyId: (r.policy_id as string | null) ?? null,
    enrolledAt: isoReq(r.enrolled_at),
    revokedAt: iso(r.revoked_at),
    lastSeen: iso(r.last_seen),
    connected: Boolean(r.connected),
    facts: json<StoredFacts | null>(r.facts, null),
  };
}

export function toBundle(r: Row): BundleMeta {
  return {
    patchId: String(r.patch_id),
    version: String(r.version),
    level: Number(r.level),
    title: String(r.title),
    severity: String(r.severity),
    advisories: json(r.advisories, []),
    targetName: String(r.target_name),
    targetBaseline: String(r.target_baseline),
    fixedIn: (r.fixed_in as string | null) ?? null,
    files: json(r.files, []),
    keyId: String(r.key_id),
    sha256: String(r.sha256),
    publishedAt: isoReq(r.published_at),
    publishedBy: String(r.published_by),
    advisoryPublishedAt: iso(r.advisory_published_at),
  };
}

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

export async function listPolicies(q: Sql): Promise<Policy[]> {
  return (await q.query('SELECT * FROM policies ORDER BY position')).map(toPolicy);
}

export async function getPolicyByName(q: Sql, name: string): Promise<Policy | null> {
  const r = await q.query('SELECT * FROM policies WHERE name = $1', [name]);
  return r[0] ? toPolicy(r[0]) : null;
}

export async function listDevices(q: Sql): Promise<Device[]> {
  return (await q.query('SELECT * FROM devices ORDER BY host, service')).map(toDevice);
}

/**
 * Every device without its inventory: facts carry only what device eligibility reads (node,
 * engine, signature enforcement, from the status columns: refresh them first), packages and
 * patches empty. For fleet-wide reports, which would otherwise read kilobytes of facts per device.
 */
export async function listDevicesLight(q: Sql): Promise<Device[]> {
  return (
    await q.query(
      `SELECT id, host, service, labels, policy_id, enrolled_at, revoked_at, last_seen, connected,
              CASE WHEN facts IS NOT NULL THEN jsonb_build_object('node', status_node, 'engine', status_engine,
                'signatureEnforcement', status_signature_enforcement, 'packages', '[]'::jsonb, 'patches', '[]'::jsonb) END AS facts
         FROM devices ORDER BY host, service`,
    )
  ).map(toDevice);
}

export async function getDevice(q: Sql, id: string): Promise<Device | null> {
  const r = await q.query('SELECT * FROM devices WHERE id = $1', [id]);
  return r[0] ? toDevice(r[0]) : null;
}

export async function getBundle(q: Sql, patchId: string): Promise<BundleMeta | null> {
  const r = await q.query(`SELECT ${BUNDLE_META} FROM bundles WHERE patch_id = $1`, [patchId]);
  return r[0] ? toBundle(r[0]) : null;
}

const BUNDLE_META =
  'patch_id, version, level, title, severity, advisories, target_name, target_baseline, fixed_in, files, key_id, sha256, published_at, published_by, advisory_published_at';

export async function listBundles(q: Sql): Promise<BundleMeta[]> {
  return (await q.query(`SELECT ${BUNDLE_META} FROM bundles ORDER BY published_at`)).map(toBundle);
}

export async function getBundleBody(q: Sql, patchId: string): Promise<string | null> {
  const r = await q.query<{ body: string }>('SELECT body FROM bundles WHERE patch_id = $1', [patchId]);
  return r[0]?.body ?? null;
}

export async function getDeployment(q: Sql, id: string): Promise<Deployment | null> {
  const r = await q.query('SELECT * FROM deployments WHERE id = $1', [id]);
  return r[0] ? toDeployment(r[0]) : null;
}

export async function deploymentRows(q: Sql, deploymentId: string): Promise<DeploymentDevice[]> {
  return (
    await q.query('SELECT * FROM deployment_devices WHERE deployment_id = $1 ORDER BY device_id', [
      deploymentId,
    ])
  ).map(toDeploymentDevice);
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

// ---------------------------------------------------------------- the device channel (hub)

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

/** Writes many rows in one statement (last write per key); returns the rows that changed. */
export async function writeRowsBatch(
  q: Sql,
  rows: readonly RowWrite[],
): Promise<Array<{ deployment_id: string; device_id: string; state: string; reason: string | null }>> {
  const payload = rows.map((w) => ({
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

/** Records audit entries in one statement. */
export async function auditMany(
  q: Sql,
  entries: ReadonlyArray<{ actor: string; action: string; subject: string; detail: Record<string, unknown> }>,
): Promise<void> {
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO audit_log (actor, action, subject, detail)
     SELECT x.actor, x.action, x.subject, x.detail FROM jsonb_to_recordset($1::jsonb) AS x(actor text, action text, subject text, detail jsonb)`,
    [JSON.stringify(entries)],
  );
}

export interface InstanceWrite {
  deviceId: string;
  pid: number;
  startedAt: string;
  node: string | null;
}

export async function writeInstancesBatch(
  q: Sql,
  items: readonly InstanceWrite[],
): Promise<Array<{ id: number; deviceId: string; pid: number; startedAt: string }>> {
  const rows = await q.query<{ id: string | number; device_id: string; pid: number; started_at: unknown }>(
    `INSERT INTO instances (device_id, pid, started_at, node)
     SELECT x.device_id, x.pid, x.started_at, x.node FROM jsonb_to_recordset($1::jsonb) AS x(device_id text, pid integer, started_at timestamptz, node text)
     ON CONFLICT (device_id, pid, started_at) DO UPDATE SET last_seen = now()
     RETURNING id, device_id, pid, started_at`,
    [
      JSON.stringify(
        items.map((i) => ({ device_id: i.deviceId, pid: i.pid, started_at: i.startedAt, node: i.node })),
      ),
    ],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    deviceId: r.device_id,
    pid: r.pid,
    startedAt: isoReq(r.started_at),
  }));
}

/** Stores facts and marks the devices connected through this replica. */
export async function writeFactsBatch(
  q: Sql,
  replicaId: string,
  items: ReadonlyArray<{ deviceId: string; facts: StoredFacts }>,
): Promise<void> {
  await q.query(
    // Changed facts leave the device's status columns stale (fleet/status-columns.ts).
    `UPDATE devices d SET facts = x.facts, connected = true, replica_id = $2, last_seen = now(),
       status_dirty = d.status_dirty + CASE WHEN d.facts IS DISTINCT FROM x.facts THEN 1 ELSE 0 END
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, facts jsonb) WHERE d.id = x.id`,
    [JSON.stringify(items.map((i) => ({ id: i.deviceId, facts: i.facts }))), replicaId],
  );
}

export async function markDisconnected(
  q: Sql,
  deviceIds: readonly string[],
  replicaId: string,
): Promise<void> {
  if (deviceIds.length === 0) return;
  await q.query(
    'UPDATE devices SET connected = false, last_seen = now() WHERE id = ANY($1) AND (replica_id = $2 OR replica_id IS NULL)',
    [deviceIds, replicaId],
  );
}

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

/** Marks an active deployment reverted; rows that never reached a device settle now (applied ones when devices confirm). */
export async function revertDeployment(q: Sql, id: string, reason: string): Promise<boolean> {
  const r = await q.query(
    "UPDATE deployments SET state = 'reverted', reverted_at = now(), revert_reason = $2 WHERE id = $1 AND state = 'active' RETURNING 1",
    [id, reason],
  );
  if (r.length === 0) return false;
  // Its rows no longer count for the devices' status (fleet/status-columns.ts).
  await q.query(
    'UPDATE devices SET status_dirty = status_dirty + 1 WHERE id IN (SELECT device_id FROM deployment_devices WHERE deployment_id = $1)',
    [id],
  );
  await q.query(
    "UPDATE deployment_devices SET state = 'reverted', reason = 'deployment reverted before it reached the device', updated_at = now() WHERE deployment_id = $1 AND state = 'scheduled'",
    [id],
  );
  return true;
}

// ---------------------------------------------------------------- replica liveness

export async function replicaHeartbeat(q: Sql, replicaId: string): Promise<void> {
  await q.query(`INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`, [
    replicaId,
  ]);
}

/** Devices held by a replica whose heartbeat is older than expiryMs are disconnected; returns how many. */
export async function expireReplicas(q: Sql, expiryMs: number): Promise<number> {
  const r = await q.query(
    `UPDATE devices SET connected = false
     WHERE connected AND (replica_id IS NULL OR replica_id NOT IN (
       SELECT id FROM replicas WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)))
     RETURNING 1`,
    [expiryMs],
  );
  await q.query("DELETE FROM replicas WHERE heartbeat_at < now() - interval '1 day'");
  return r.length;
}

/** At the start of the only replica (embedded storage): nothing is connected yet. */
export async function disconnectAll(q: Sql): Promise<void> {
  await q.query('UPDATE devices SET connected = false WHERE connected');
}

export async function removeReplica(q: Sql, replicaId: string): Promise<void> {
  await q.query('DELETE FROM replicas WHERE id = $1', [replicaId]);
}

// ---------------------------------------------------------------- health gate

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
