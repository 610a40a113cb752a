/** Devices: rows, lookups, the facts and instances their runtimes report, and whether they are connected. */
import type { Row, Sql } from '../db/types.js';
import type { Device, Labels, StoredFacts } from '../fleet/model.js';
import { iso, isoReq, json } from './convert.js';
import { lockDevicesInOrder } from './lock-order.js';

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

/** What toDevice reads: not the status columns (kilobytes per device of search text and versions). */
const DEVICE_COLUMNS =
  'id, host, service, labels, policy_id, enrolled_at, revoked_at, last_seen, connected, facts';

export async function listDevices(q: Sql): Promise<Device[]> {
  return (await q.query(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY host, service`)).map(toDevice);
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
  const r = await q.query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, [id]);
  return r[0] ? toDevice(r[0]) : null;
}

/** These devices, in no particular order (missing ones left out). */
export async function getDevices(q: Sql, ids: readonly string[]): Promise<Device[]> {
  return (await q.query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ANY($1)`, [ids])).map(toDevice);
}

/** The process instances seen for a device, oldest first, as stored. */
export async function deviceInstances(q: Sql, deviceId: string): Promise<Row[]> {
  return q.query(
    'SELECT pid, started_at, first_seen, last_seen, node FROM instances WHERE device_id = $1 ORDER BY started_at',
    [deviceId],
  );
}

export async function updateDevicePlacement(
  q: Sql,
  id: string,
  labels: Labels,
  policyId: string | null,
): Promise<void> {
  await q.query('UPDATE devices SET labels = $2, policy_id = $3 WHERE id = $1', [
    id,
    JSON.stringify(labels),
    policyId,
  ]);
}

/** Revokes a device and its credentials (an earlier revocation's time is kept). */
export async function revokeDevice(q: Sql, id: string): Promise<void> {
  await q.query('UPDATE devices SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1', [id]);
  await q.query(
    'UPDATE device_credentials SET revoked_at = coalesce(revoked_at, now()) WHERE device_id = $1',
    [id],
  );
}

export async function deleteDevice(q: Sql, id: string): Promise<void> {
  await q.query('DELETE FROM devices WHERE id = $1', [id]);
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
    `${lockDevicesInOrder('id IN (SELECT x.id FROM jsonb_to_recordset($1::jsonb) AS x(id text))')}
     UPDATE devices d SET facts = x.facts, connected = true, replica_id = $2, last_seen = now(),
       status_dirty = d.status_dirty + CASE WHEN d.facts IS DISTINCT FROM x.facts THEN 1 ELSE 0 END
     FROM locked, jsonb_to_recordset($1::jsonb) AS x(id text, facts jsonb) WHERE d.id = locked.id AND d.id = x.id`,
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
    `${lockDevicesInOrder('id = ANY($1) AND (replica_id = $2 OR replica_id IS NULL)')}
     UPDATE devices d SET connected = false, last_seen = now() FROM locked WHERE d.id = locked.id`,
    [deviceIds, replicaId],
  );
}

/** The device enrolled as host/service, locked for the enrollment that reads it. */
export async function lockDeviceIdentity(
  q: Sql,
  host: string,
  service: string,
): Promise<{ id: string; revoked_at: unknown } | undefined> {
  const rows = await q.query<{ id: string; revoked_at: unknown }>(
    'SELECT id, revoked_at FROM devices WHERE host = $1 AND service = $2 FOR UPDATE',
    [host, service],
  );
  return rows[0];
}

export async function insertDevice(
  q: Sql,
  d: { id: string; host: string; service: string; labels: Record<string, string> },
): Promise<void> {
  await q.query('INSERT INTO devices (id, host, service, labels) VALUES ($1, $2, $3, $4)', [
    d.id,
    d.host,
    d.service,
    JSON.stringify(d.labels),
  ]);
}

/** Each device's display name (host/service), by id. */
export async function deviceNames(q: Sql): Promise<Map<string, string>> {
  const rows = await q.query<{ id: string; host: string; service: string }>(
    'SELECT id, host, service FROM devices',
  );
  return new Map(rows.map((r) => [r.id, `${r.host}/${r.service}`]));
}

/** When each process instance of every device started. */
export async function allInstanceStarts(q: Sql): Promise<{ deviceId: string; startedAt: string }[]> {
  return (
    await q.query<{ device_id: string; started_at: unknown }>('SELECT device_id, started_at FROM instances')
  ).map((r) => ({
    deviceId: r.device_id,
    startedAt: r.started_at instanceof Date ? r.started_at.toISOString() : String(r.started_at),
  }));
}
