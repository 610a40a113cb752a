/**
 * The devices' status columns (migration 012), as SQL: marking devices stale when an input of
 * their status changes, reading a batch of stale ones, writing what fleet/status-columns.ts
 * computed for them.
 */
import type { OsvRecord } from '@hotpatch/protocol';
import { affectedNames, affects } from '../advisories/osv.js';
import type { Row, Sql } from '../db/types.js';
import { lockDevicesInOrder } from './lock-order.js';

// Joins the search fields: no field a needle is matched against can hold it.
export const SEARCH_SEP = '\u0001';

const BUMP = 'status_dirty = d.status_dirty + 1';

/** Bumps the dirty value of the devices matching `where`, locked in id order (lock-order.ts). */
const bumpWhere = (where: string) =>
  `${lockDevicesInOrder(where)} UPDATE devices d SET ${BUMP} FROM locked WHERE d.id = locked.id`;

/** Facts, labels, policy assignment, revocation, or deployment rows of these devices changed. */
export async function markDevicesStale(q: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(bumpWhere('id = ANY($1)'), [[...new Set(ids)]]);
}

/** A policy changed (placement, allowHotpatch, paused): every device may follow another rule. */
export async function markAllStale(q: Sql): Promise<void> {
  await q.query(bumpWhere('true'));
}

// Stale devices too: a refresh under way may have read facts their stored versions do not show yet.
const OR_UNSURE = 'OR status_versions IS NULL OR status_clean < status_dirty';

/** Hotpatches for these npm packages changed: the devices that loaded one of them. */
export async function markPackagesStale(q: Sql, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await q.query(bumpWhere(`status_versions ?| $1::text[] ${OR_UNSURE}`), [[...new Set(names)]]);
}

/**
 * Advisory records changed (each as it was and as it is): the devices that loaded a package
 * version one of them affects. Versions are matched here, as the status does, so that a record
 * for a package every device loads marks only the devices on an affected version.
 */
export async function markAdvisoriesStale(q: Sql, records: readonly OsvRecord[]): Promise<void> {
  const hit = await affectedVersions(q, records);
  if (hit.length === 0) return;
  await q.query(
    bumpWhere(
      `EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) AS h WHERE status_versions @> h) ${OR_UNSURE}`,
    ),
    [JSON.stringify(hit)],
  );
}

/**
 * The package versions some device loaded (as stored) that one of these records affects, each as a
 * fragment of status_versions (`{name: [version]}`) for `status_versions @> fragment`.
 */
export async function affectedVersions(
  q: Sql,
  records: readonly OsvRecord[],
): Promise<Array<Record<string, string[]>>> {
  const byName = new Map<string, OsvRecord[]>();
  for (const r of records) for (const n of affectedNames(r)) byName.set(n, [...(byName.get(n) ?? []), r]);
  const names = [...byName.keys()];
  if (names.length === 0) return [];
  const loaded = await q.query<{ name: string; version: string }>(
    `SELECT DISTINCT n AS name, v AS version FROM devices, unnest($1::text[]) AS n,
            jsonb_array_elements_text(status_versions -> n) AS v
      WHERE status_versions ? n`,
    [names],
  );
  return loaded
    .filter((p) => (byName.get(p.name) ?? []).some((r) => affects(r, p.name, p.version)))
    .map((p) => ({ [p.name]: [p.version] }));
}

/**
 * The same, after the deployment's transaction, a chunk of devices per statement: each statement
 * holds its rows' locks only briefly, where one statement over a large fleet (100,000 rows) held
 * them all until it ended, while the devices that had the deploy were writing their facts.
 */
export async function markDeploymentStaleInChunks(q: Sql, deploymentId: string, chunk = 5000): Promise<void> {
  let after = '';
  for (;;) {
    const ids = await q.query<{ device_id: string }>(
      `SELECT device_id FROM deployment_devices WHERE deployment_id = $1 AND device_id > $2
        ORDER BY device_id LIMIT ${chunk}`,
      [deploymentId, after],
    );
    if (ids.length === 0) return;
    await markDevicesStale(
      q,
      ids.map((r) => r.device_id),
    );
    if (ids.length < chunk) return;
    after = ids[ids.length - 1]?.device_id ?? after;
  }
}

/** A deployment was created, reverted or retried: the devices with a row in it. */
export async function markDeploymentStale(q: Sql, deploymentId: string): Promise<void> {
  await q.query(bumpWhere('id IN (SELECT device_id FROM deployment_devices WHERE deployment_id = $1)'), [
    deploymentId,
  ]);
}

/**
 * Up to `limit` stale devices, with their dirty values (read before the inputs: see refreshBatch),
 * locked for the transaction; with skipLocked, rows another transaction holds are passed over.
 */
export async function staleDevices(q: Sql, limit: number, skipLocked = false): Promise<Row[]> {
  return q.query(
    `SELECT id, host, service, labels, policy_id, enrolled_at, revoked_at, last_seen, connected, facts, status_dirty
       FROM devices WHERE status_clean < status_dirty ORDER BY id LIMIT ${limit}
       FOR NO KEY UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
  );
}

/** Writes computed columns; a device marked stale again since its read keeps its newer dirty value. */
export async function writeStatusColumns(q: Sql, out: readonly Record<string, unknown>[]): Promise<void> {
  await q.query(
    `${lockDevicesInOrder('id IN (SELECT x.id FROM jsonb_to_recordset($1::jsonb) AS x(id text))')}
     UPDATE devices d SET status_clean = x.dirty, status_kind = x.kind, status_rank = x.rank, status_label = x.label,
       status_cves = x.cves, status_action = x.action, status_vulnerable = x.vulnerable, status_eligible = x.eligible,
       status_reasons = x.reasons, status_policy = x.policy, status_ring = x.ring, status_node = x.node, status_engine = x.engine, status_signature_enforcement = x.sig,
       status_versions = x.versions, status_search = x.search, sort_name = x.sort_name
     FROM locked, jsonb_to_recordset($1::jsonb) AS x(id text, dirty integer, kind text, rank integer, label text, cves jsonb,
       action text, vulnerable boolean, eligible boolean, reasons jsonb, policy text, ring text, node text, engine text, sig boolean,
       versions jsonb, search text, sort_name text)
     WHERE d.id = locked.id AND d.id = x.id AND d.status_clean < x.dirty`,
    [JSON.stringify(out)],
  );
}
