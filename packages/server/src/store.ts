/** SQL for the fleet tables, mapped to the model types. Every function takes the Sql to run on (a transaction or the pool). */
import type { Row, Sql } from './db/types.js';
import type {
  BundleMeta,
  Deployment,
  DeploymentDevice,
  Device,
  DeviceState,
  Policy,
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

export async function getDevice(q: Sql, id: string): Promise<Device | null> {
  const r = await q.query('SELECT * FROM devices WHERE id = $1', [id]);
  return r[0] ? toDevice(r[0]) : null;
}

export async function getBundle(q: Sql, patchId: string): Promise<BundleMeta | null> {
  const r = await q.query(
    'SELECT patch_id, version, level, title, severity, advisories, target_name, target_baseline, fixed_in, files, key_id, sha256, published_at, published_by, advisory_published_at FROM bundles WHERE patch_id = $1',
    [patchId],
  );
  return r[0] ? toBundle(r[0]) : null;
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

export async function upsertRow(
  q: Sql,
  row: Pick<
    DeploymentDevice,
    'deploymentId' | 'deviceId' | 'state' | 'ring' | 'reason' | 'action' | 'scheduledFor' | 'instanceId'
  >,
): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO deployment_devices (deployment_id, device_id, state, ring, reason, action, scheduled_for, instance_id, applied_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $3 = 'applied' THEN now() END, now())
     ON CONFLICT (deployment_id, device_id) DO UPDATE SET state = EXCLUDED.state, ring = EXCLUDED.ring, reason = EXCLUDED.reason,
       action = EXCLUDED.action, scheduled_for = EXCLUDED.scheduled_for, instance_id = COALESCE(EXCLUDED.instance_id, deployment_devices.instance_id),
       applied_at = CASE WHEN EXCLUDED.state = 'applied' THEN COALESCE(deployment_devices.applied_at, now()) ELSE deployment_devices.applied_at END,
       updated_at = now()
     WHERE deployment_devices.state IS DISTINCT FROM EXCLUDED.state OR deployment_devices.reason IS DISTINCT FROM EXCLUDED.reason
       OR deployment_devices.scheduled_for IS DISTINCT FROM EXCLUDED.scheduled_for OR deployment_devices.instance_id IS DISTINCT FROM EXCLUDED.instance_id
     RETURNING 1`,
    [
      row.deploymentId,
      row.deviceId,
      row.state,
      row.ring,
      row.reason,
      row.action,
      row.scheduledFor,
      row.instanceId,
    ],
  );
  return r.length > 0;
}
