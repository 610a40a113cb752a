/**
 * Keeps each device's status columns (migration 012) current. Whatever changes a status input
 * marks the devices it concerns stale, in SQL, inside or after its own transaction (never before:
 * a refresh in between would compute from the old inputs and be taken as clean). A refresh
 * recomputes stale devices in batches, yielding to the event loop between them; reads refresh
 * first, so a missed refresh costs time, never truth.
 */
import { DEVICE_STATUS_KINDS, type OsvRecord } from '@hotpatch/protocol';
import { loadStatusSources } from '../advisories/load.js';
import { affectedNames, affects } from '../advisories/osv.js';
import type { Database, Sql } from '../db/types.js';
import { listPolicies, toDevice } from '../store.js';
import { assessDevice } from './device-assess.js';
import type { Device } from './model.js';

// PGlite runs on this thread: a batch (read facts, compute, write) holds the event loop ~0.1 s.
const BATCH = 250;
const RANK = new Map<string, number>(DEVICE_STATUS_KINDS.map((k, i) => [k, i]));
// Joins the search fields: no field a needle is matched against can hold it.
export const SEARCH_SEP = '\u0001';

const BUMP = 'status_dirty = status_dirty + 1';

/** Facts, labels, policy assignment, revocation, or deployment rows of these devices changed. */
export async function markDevicesStale(q: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(`UPDATE devices SET ${BUMP} WHERE id = ANY($1)`, [[...new Set(ids)]]);
}

/** A policy changed (placement, allowHotpatch, paused): every device may follow another rule. */
export async function markAllStale(q: Sql): Promise<void> {
  await q.query(`UPDATE devices SET ${BUMP}`);
}

// Stale devices too: a refresh under way may have read facts their stored versions do not show yet.
const OR_UNSURE = 'OR status_versions IS NULL OR status_clean < status_dirty';

/** Hotpatches for these npm packages changed: the devices that loaded one of them. */
export async function markPackagesStale(q: Sql, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await q.query(`UPDATE devices SET ${BUMP} WHERE status_versions ?| $1::text[] ${OR_UNSURE}`, [
    [...new Set(names)],
  ]);
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
    `UPDATE devices SET ${BUMP}
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) AS h WHERE status_versions @> h) ${OR_UNSURE}`,
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

/** A deployment was created, reverted or retried: the devices with a row in it. */
export async function markDeploymentStale(q: Sql, deploymentId: string): Promise<void> {
  await q.query(
    `UPDATE devices SET ${BUMP} WHERE id IN (SELECT device_id FROM deployment_devices WHERE deployment_id = $1)`,
    [deploymentId],
  );
}

function loadedVersions(d: Device): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of d.facts?.packages ?? []) {
    const list = (out[p.name] ??= []);
    if (!list.includes(p.version)) list.push(p.version);
  }
  return out;
}

/** The column values for one device, from its assessment. */
function columns(d: Device, dirty: number, assessed: ReturnType<typeof assessDevice>) {
  const { place, reasons, status } = assessed;
  const policy = place?.policy.name ?? null;
  const search = [
    d.id,
    d.host,
    d.service,
    policy ?? '',
    status.label,
    ...Object.entries(d.labels).flat(),
    ...status.cves,
  ]
    .map((s) => s.toLowerCase())
    .join(SEARCH_SEP);
  return {
    id: d.id,
    dirty,
    kind: status.kind,
    rank: RANK.get(status.kind) ?? 99,
    label: status.label,
    cves: status.cves,
    action: status.action,
    vulnerable: status.cves.length > 0,
    eligible: reasons.length === 0,
    reasons,
    policy,
    ring: place?.ring?.name ?? null,
    node: d.facts?.node ?? null,
    engine: d.facts?.engine ?? null,
    sig: d.facts?.signatureEnforcement ?? null,
    versions: loadedVersions(d),
    search,
    sort_name: `${d.host}/${d.service}`.toLowerCase(),
  };
}

/** Recomputes one batch of stale devices; returns how many it wrote. */
async function refreshBatch(db: Database): Promise<number> {
  // The rows (and their dirty values) first, then the inputs: an input changed after this read
  // bumps the dirty value again, so the device stays stale.
  const rows = await db.query(
    `SELECT id, host, service, labels, policy_id, enrolled_at, revoked_at, last_seen, connected, facts, status_dirty
       FROM devices WHERE status_clean < status_dirty ORDER BY id LIMIT ${BATCH}`,
  );
  if (rows.length === 0) return 0;
  const devices = rows.map(toDevice);
  const names = [...new Set(devices.flatMap((d) => (d.facts?.packages ?? []).map((p) => p.name)))];
  const [policies, sources] = await Promise.all([
    listPolicies(db),
    loadStatusSources(
      db,
      devices.map((d) => d.id),
      names,
    ),
  ]);
  const out = devices.map((d, i) =>
    columns(d, Number(rows[i]?.status_dirty), assessDevice(d, policies, sources)),
  );
  await db.query(
    `UPDATE devices d SET status_clean = x.dirty, status_kind = x.kind, status_rank = x.rank, status_label = x.label,
       status_cves = x.cves, status_action = x.action, status_vulnerable = x.vulnerable, status_eligible = x.eligible,
       status_reasons = x.reasons, status_policy = x.policy, status_ring = x.ring, status_node = x.node, status_engine = x.engine, status_signature_enforcement = x.sig,
       status_versions = x.versions, status_search = x.search, sort_name = x.sort_name
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, dirty integer, kind text, rank integer, label text, cves jsonb,
       action text, vulnerable boolean, eligible boolean, reasons jsonb, policy text, ring text, node text, engine text, sig boolean,
       versions jsonb, search text, sort_name text)
     WHERE d.id = x.id AND d.status_clean < x.dirty`,
    [JSON.stringify(out)],
  );
  return out.length;
}

const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

async function refreshAll(db: Database): Promise<number> {
  let total = 0;
  // Bounded: a device re-marked on every pass (a fault) must not hold the caller forever.
  for (let pass = 0; pass < 1000; pass++) {
    const n = await refreshBatch(db);
    if (n === 0) break;
    total += n;
    await yieldLoop();
  }
  return total;
}

interface Slot {
  running: Promise<number> | null;
  queued: Promise<number> | null;
}
const slots = new WeakMap<Database, Slot>();

/**
 * Brings every stale device's columns up to date; resolves when what was stale at the call is
 * written. One refresh runs at a time per database; callers arriving meanwhile share the next one.
 */
export function refreshStatus(db: Database): Promise<number> {
  let slot = slots.get(db);
  if (!slot) {
    slot = { running: null, queued: null };
    slots.set(db, slot);
  }
  const s = slot;
  const start = (): Promise<number> => {
    const p = refreshAll(db).finally(() => {
      if (s.running === p) s.running = null;
    });
    s.running = p;
    return p;
  };
  if (!s.running) return start();
  if (!s.queued) {
    const q = s.running
      .catch(() => 0)
      .then(() => {
        s.queued = null;
        return start();
      });
    s.queued = q;
  }
  return s.queued;
}

const kicks = new WeakMap<Database, NodeJS.Timeout>();

/** Refreshes soon, in the background (device reports arrive in bursts: one refresh per burst). */
export function kickRefresh(db: Database, onError: (e: Error) => void, delayMs = 100): void {
  if (kicks.has(db)) return;
  const t = setTimeout(() => {
    kicks.delete(db);
    refreshStatus(db).catch(onError);
  }, delayMs);
  t.unref();
  kicks.set(db, t);
}

/** At close: no refresh is started any more and the one under way has finished. */
export async function stopRefresh(db: Database): Promise<void> {
  const t = kicks.get(db);
  if (t) clearTimeout(t);
  kicks.delete(db);
  const s = slots.get(db);
  await Promise.allSettled([s?.running, s?.queued]);
}
