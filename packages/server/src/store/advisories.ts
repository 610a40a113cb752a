/** SQL for advisories (OSV records) and the per-device deployment rows the status needs. */
import type { OsvRecord } from '@hotpatch/protocol';
import { affectedNames } from '../advisories/osv.js';
import type { Sql } from '../db/types.js';

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export type ImportOutcome = 'added' | 'updated' | 'unchanged';

/** Stores one record; a record only replaces an older (or equally old) version of itself, as OSV's `modified` says. */
export async function upsertAdvisory(q: Sql, record: OsvRecord, source: string): Promise<ImportOutcome> {
  const before = await q.query<{ modified: unknown }>('SELECT modified FROM advisories WHERE id = $1', [
    record.id,
  ]);
  const r = await q.query(
    `INSERT INTO advisories (id, aliases, packages, summary, modified, published, withdrawn, record, source, imported_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
     ON CONFLICT (id) DO UPDATE SET aliases = EXCLUDED.aliases, packages = EXCLUDED.packages, summary = EXCLUDED.summary,
       modified = EXCLUDED.modified, published = EXCLUDED.published, withdrawn = EXCLUDED.withdrawn,
       record = EXCLUDED.record, source = EXCLUDED.source, imported_at = now()
     WHERE advisories.modified < EXCLUDED.modified
     RETURNING 1`,
    [
      record.id,
      JSON.stringify(record.aliases ?? []),
      JSON.stringify(affectedNames(record)),
      record.summary ?? '',
      record.modified,
      record.published ?? null,
      record.withdrawn ?? null,
      JSON.stringify(record),
      source,
    ],
  );
  if (r.length === 0) return 'unchanged';
  return before.length ? 'updated' : 'added';
}

export interface StoredAdvisory {
  record: OsvRecord;
  source: string;
  importedAt: string;
}

export async function listAdvisories(q: Sql): Promise<StoredAdvisory[]> {
  const rows = await q.query<{ record: unknown; source: string; imported_at: unknown }>(
    'SELECT record, source, imported_at FROM advisories ORDER BY modified DESC, id',
  );
  return rows.map((r) => ({
    record: json<OsvRecord>(r.record),
    source: r.source,
    importedAt: new Date(
      String(r.imported_at instanceof Date ? r.imported_at.toISOString() : r.imported_at),
    ).toISOString(),
  }));
}

/** The records that concern any of these npm package names (what a batch of devices' statuses needs). */
export async function listAdvisoriesFor(q: Sql, names: readonly string[]): Promise<OsvRecord[]> {
  if (names.length === 0) return [];
  const rows = await q.query<{ record: unknown }>(
    'SELECT record FROM advisories WHERE packages ?| $1::text[] ORDER BY modified DESC, id',
    [names],
  );
  return rows.map((r) => json<OsvRecord>(r.record));
}

/** These records as stored (before an update or delete changes them). */
export async function advisoryRecords(q: Sql, ids: readonly string[]): Promise<OsvRecord[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<{ record: unknown }>('SELECT record FROM advisories WHERE id = ANY($1)', [ids]);
  return rows.map((r) => json<OsvRecord>(r.record));
}

export async function deleteAdvisory(q: Sql, id: string): Promise<boolean> {
  return (await q.query('DELETE FROM advisories WHERE id = $1 RETURNING 1', [id])).length > 0;
}

/** Each device's row in every active deployment (the status's "in progress" and "failed"). */
export async function activeDeploymentRows(
  q: Sql,
  deviceId?: string | readonly string[],
): Promise<
  Array<{ deviceId: string; patchId: string; deploymentId: string; state: string; reason: string | null }>
> {
  const rows = await q.query<{
    device_id: string;
    patch_id: string;
    id: string;
    state: string;
    reason: string | null;
  }>(
    `SELECT dd.device_id, d.patch_id, d.id, dd.state, dd.reason FROM deployment_devices dd
       JOIN deployments d ON d.id = dd.deployment_id
      WHERE d.state = 'active'${deviceId === undefined ? '' : typeof deviceId === 'string' ? ' AND dd.device_id = $1' : ' AND dd.device_id = ANY($1)'}
      ORDER BY d.created_at`,
    deviceId === undefined ? [] : [deviceId],
  );
  return rows.map((r) => ({
    deviceId: r.device_id,
    patchId: r.patch_id,
    deploymentId: r.id,
    state: r.state,
    reason: r.reason,
  }));
}
