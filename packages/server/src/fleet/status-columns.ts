/**
 * Keeps each device's status columns (migration 012) current. Whatever changes a status input
 * marks the devices it concerns stale, in SQL, inside or after its own transaction (never before:
 * a refresh in between would compute from the old inputs and be taken as clean). A refresh
 * recomputes stale devices in batches, yielding to the event loop between them; reads refresh
 * first, so a missed refresh costs time, never truth. The SQL is in store/status-columns.ts.
 */
import { DEVICE_STATUS_KINDS } from '@hotpatch/protocol';
import { loadStatusSources } from '../advisories/load.js';
import type { Database } from '../db/types.js';
import { listPolicies, SEARCH_SEP, staleDevices, toDevice, writeStatusColumns } from '../store.js';
import { assessDevice } from './device-assess.js';
import type { Device } from './model.js';

// PGlite runs on this thread: a batch (read facts, compute, write) holds the event loop ~0.1 s.
const BATCH = 250;
const RANK = new Map<string, number>(DEVICE_STATUS_KINDS.map((k, i) => [k, i]));
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

/**
 * Recomputes one batch of stale devices; returns how many it wrote. The batch is claimed: its rows
 * stay locked until its columns are written, and with `skipLocked` rows another server process is
 * refreshing are passed over. Every worker of every replica refreshes, and before they all took the
 * same first 250 stale devices and computed them 14 times over (at 100,000 devices on two replicas
 * of seven workers).
 */
async function refreshBatch(db: Database, skipLocked: boolean): Promise<number> {
  return db.transaction(async (tx) => {
    // The rows (and their dirty values) first, then the inputs: an input changed after this read
    // bumps the dirty value again (after this transaction), so the device stays stale.
    const rows = await staleDevices(tx, BATCH, skipLocked);
    if (rows.length === 0) return 0;
    const devices = rows.map(toDevice);
    const names = [...new Set(devices.flatMap((d) => (d.facts?.packages ?? []).map((p) => p.name)))];
    const [policies, sources] = await Promise.all([
      listPolicies(tx),
      loadStatusSources(
        tx,
        devices.map((d) => d.id),
        names,
      ),
    ]);
    const out = devices.map((d, i) =>
      columns(d, Number(rows[i]?.status_dirty), assessDevice(d, policies, sources)),
    );
    await writeStatusColumns(tx, out);
    return out.length;
  });
}

const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

async function refreshAll(db: Database): Promise<number> {
  let total = 0;
  // Bounded: a device re-marked on every pass (a fault) must not hold the caller forever. The
  // last pass waits for the batches other processes hold, so that what was stale at the call is
  // written when this resolves (reads refresh first).
  for (let pass = 0, skipLocked = true; pass < 1000; pass++) {
    const n = await refreshBatch(db, skipLocked);
    if (n === 0) {
      if (!skipLocked) break;
      skipLocked = false;
      continue;
    }
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
