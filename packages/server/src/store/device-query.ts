/**
 * The Devices list as SQL on the status columns (migration 012): filter, sort and page in one
 * indexed query that reads no facts; counts per status and the Overview's figures likewise.
 * Same order as the former in-memory list: the key, then the name ("host/service", case-folded).
 */
import { DEVICE_STATUS_KINDS, type DeviceListQuery, type OsvRecord } from '@hotpatch/protocol';
import type { Sql } from '../db/types.js';
import { toDevice } from './devices.js';
import { affectedVersions, SEARCH_SEP } from './status-columns.js';

const C = 'COLLATE "C"';
const KEY: Record<string, string> = {
  status: 'status_rank',
  name: 'sort_name',
  host: `lower(host) ${C}`,
  service: `lower(service) ${C}`,
  policy: `lower(coalesce(status_policy, '')) ${C}`,
  lastSeen: 'last_seen',
};

function orderBy(sort: string | undefined): string {
  const key = (sort ?? 'name').replace(/^-/, '');
  const desc = sort?.startsWith('-') ?? false;
  const col = KEY[key] ?? KEY.name;
  // ISO strings compared as before: a device never seen sorts first.
  const nulls = key === 'lastSeen' ? (desc ? ' NULLS LAST' : ' NULLS FIRST') : '';
  return `${col} ${desc ? 'DESC' : 'ASC'}${nulls}, sort_name, id`;
}

function where(query: DeviceListQuery): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (query.status) {
    params.push(query.status.split(','));
    parts.push(`status_kind = ANY($${params.length}::text[])`);
  }
  if (query.q) {
    const needle = query.q.toLowerCase();
    // No field holds the separator: such a needle matches nothing, as before.
    if (needle.includes(SEARCH_SEP)) parts.push('false');
    else {
      params.push(needle);
      parts.push(`strpos(status_search, $${params.length}) > 0`);
    }
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** The ids of one page in order, and how many devices match the filter. */
export async function pageIds(q: Sql, query: DeviceListQuery): Promise<{ ids: string[]; total: number }> {
  const w = where(query);
  const params = [...w.params];
  let limit = '';
  if (query.limit !== undefined) {
    params.push(query.limit);
    limit += ` LIMIT $${params.length}`;
  }
  if (query.offset) {
    params.push(query.offset);
    limit += ` OFFSET $${params.length}`;
  }
  const [rows, count] = await Promise.all([
    q.query<{ id: string }>(
      `SELECT id FROM devices ${w.sql} ORDER BY ${orderBy(query.sort)}${limit}`,
      params,
    ),
    q.query<{ n: unknown }>(`SELECT count(*) AS n FROM devices ${w.sql}`, w.params),
  ]);
  return { ids: rows.map((r) => r.id), total: Number(count[0]?.n ?? 0) };
}

/** Devices per status over the whole fleet. */
export async function statusCounts(q: Sql): Promise<Record<string, number>> {
  const counts = Object.fromEntries(DEVICE_STATUS_KINDS.map((k) => [k, 0])) as Record<string, number>;
  const rows = await q.query<{ kind: string; n: unknown }>(
    'SELECT status_kind AS kind, count(*) AS n FROM devices GROUP BY status_kind',
  );
  for (const r of rows) if (r.kind !== null) counts[r.kind] = Number(r.n);
  return counts;
}

export interface CsvRow {
  id: string;
  host: string;
  service: string;
  policy: string | null;
  ring: string | null;
  status: { label: string; cves: string[]; action: string };
  connected: boolean;
  lastSeen: string | null;
  node: string | null;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/** Every matching device with the columns the CSV export has, in list order. */
export async function csvRows(q: Sql, query: DeviceListQuery): Promise<CsvRow[]> {
  const w = where(query);
  const rows = await q.query(
    `SELECT id, host, service, status_policy, status_ring, status_label, status_cves, status_action, connected, last_seen, status_node
       FROM devices ${w.sql} ORDER BY ${orderBy(query.sort)}`,
    w.params,
  );
  const offset = query.offset ?? 0;
  return rows.slice(offset, query.limit === undefined ? undefined : offset + query.limit).map((r) => ({
    id: String(r.id),
    host: String(r.host),
    service: String(r.service),
    policy: (r.status_policy as string | null) ?? null,
    ring: (r.status_ring as string | null) ?? null,
    status: {
      label: String(r.status_label ?? ''),
      cves: json<string[] | null>(r.status_cves) ?? [],
      action: String(r.status_action ?? ''),
    },
    connected: Boolean(r.connected),
    lastSeen: iso(r.last_seen),
    node: (r.status_node as string | null) ?? null,
  }));
}

/** The Overview's device figures: live and connected devices, and the first devices needing attention. */
export async function fleetSummary(q: Sql, attentionLimit: number) {
  const [totals, attention, counts] = await Promise.all([
    q.query<Record<string, unknown>>(
      `SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS live,
              count(*) FILTER (WHERE revoked_at IS NULL AND connected) AS connected,
              count(*) FILTER (WHERE revoked_at IS NULL AND NOT status_eligible) AS ineligible,
              count(*) FILTER (WHERE revoked_at IS NULL AND NOT connected) AS disconnected
         FROM devices`,
    ),
    q.query(
      `SELECT id, host, service, connected, status_eligible, status_reasons FROM devices
        WHERE revoked_at IS NULL AND (NOT connected OR NOT status_eligible)
        ORDER BY host, service LIMIT $1`,
      [attentionLimit],
    ),
    statusCounts(q),
  ]);
  const t = totals[0] ?? {};
  return {
    live: Number(t.live ?? 0),
    connected: Number(t.connected ?? 0),
    ineligible: Number(t.ineligible ?? 0),
    disconnected: Number(t.disconnected ?? 0),
    counts,
    attention: attention.map((r) => ({
      id: String(r.id),
      host: String(r.host),
      service: String(r.service),
      connected: Boolean(r.connected),
      eligible: Boolean(r.status_eligible),
      reasons: json<Array<{ code: string; message: string }> | null>(r.status_reasons) ?? [],
    })),
  };
}

/**
 * The live devices, with their facts, by host and service, that may be affected by one of these
 * advisory records: those whose stored versions hold a version one affects, and those whose stored
 * versions are not known or not current (never skipped on a guess). Fleet-wide advisory views read
 * these instead of every device.
 */
export async function devicesAffected(q: Sql, records: readonly OsvRecord[]) {
  const hit = await affectedVersions(q, records);
  const rows = await q.query(
    `SELECT * FROM devices
      WHERE revoked_at IS NULL
        AND (EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) AS h WHERE status_versions @> h)
             OR status_versions IS NULL OR status_clean < status_dirty)
      ORDER BY host, service`,
    [JSON.stringify(hit)],
  );
  return rows.map(toDevice);
}
