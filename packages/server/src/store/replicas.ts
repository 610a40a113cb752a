/** Replica liveness: heartbeats, and disconnecting the devices of replicas that stopped. */
import type { Sql } from '../db/types.js';
import { lockDevicesInOrder } from './lock-order.js';

export async function replicaHeartbeat(q: Sql, replicaId: string): Promise<void> {
  await q.query(`INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`, [
    replicaId,
  ]);
}

/** Devices held by a replica whose heartbeat is older than expiryMs are disconnected; returns how many. */
export async function expireReplicas(q: Sql, expiryMs: number): Promise<number> {
  const r = await q.query(
    `${lockDevicesInOrder(`connected AND (replica_id IS NULL OR replica_id NOT IN (
       SELECT id FROM replicas WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)))`)}
     UPDATE devices d SET connected = false FROM locked WHERE d.id = locked.id RETURNING 1`,
    [expiryMs],
  );
  await q.query("DELETE FROM replicas WHERE heartbeat_at < now() - interval '1 day'");
  return r.length;
}

/** Devices this replica holds, marked disconnected while its heartbeat was late; returns how many. */
export async function reassertConnected(
  q: Sql,
  deviceIds: readonly string[],
  replicaId: string,
): Promise<number> {
  if (deviceIds.length === 0) return 0;
  const r = await q.query(
    `${lockDevicesInOrder('id = ANY($1) AND replica_id = $2 AND NOT connected')}
     UPDATE devices d SET connected = true FROM locked WHERE d.id = locked.id RETURNING 1`,
    [deviceIds, replicaId],
  );
  return r.length;
}

/** At the start of the only replica (embedded storage): nothing is connected yet. */
export async function disconnectAll(q: Sql): Promise<void> {
  await q.query(
    `${lockDevicesInOrder('connected')} UPDATE devices d SET connected = false FROM locked WHERE d.id = locked.id`,
  );
}

export async function removeReplica(q: Sql, replicaId: string): Promise<void> {
  await q.query('DELETE FROM replicas WHERE id = $1', [replicaId]);
}
