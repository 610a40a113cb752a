/**
 * The hub's writes: device state rows, instances and facts, batched (many devices share one
 * statement, in arrival order) with an overlay of writes not yet in the database that reconcile
 * reads first. A bad row never fails another device's write: the Batcher retries a failed batch
 * row by row. Changed deployments are announced on the bus, coalesced per flushMs.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import { markDevicesStale } from '../store/status-columns.js';
import {
  auditMany,
  type InstanceWrite,
  markDisconnected,
  type RowWrite,
  writeFactsBatch,
  writeInstancesBatch,
  writeRowsBatch,
} from '../store.js';
import { Batcher } from './batcher.js';
import type { Bus } from './bus.js';
import type { StoredFacts } from './model.js';
import { checkRollback } from './rollback.js';
import { kickRefresh } from './status-columns.js';

export const rowKey = (deploymentId: string, deviceId: string) => `${deploymentId}\n${deviceId}`;

/** Keeps the last write per key (first-seen order); `sent` and the scheduler's ring/date carry over. */
export function collapse(items: readonly RowWrite[]): Map<string, RowWrite> {
  const m = new Map<string, RowWrite>();
  for (const w of items) {
    const k = rowKey(w.deploymentId, w.deviceId);
    const prev = m.get(k);
    m.set(
      k,
      prev
        ? {
            ...w,
            sent: w.sent || prev.sent,
            ring: w.ring ?? prev.ring,
            scheduledFor: w.scheduledFor ?? prev.scheduledFor,
            instanceId: w.instanceId ?? prev.instanceId,
          }
        : w,
    );
  }
  return m;
}

function lastPerKey<T>(items: readonly T[], k: (t: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const it of items) m.set(k(it), it);
  return m;
}

export class Writer {
  /** Writes queued but not yet in the database: reconcile reads them first. */
  readonly #overlay = new Map<string, RowWrite>();
  /** State batches finished so far (see landedSince). */
  #rowFlushes = 0;
  /** Pairs whose write left the overlay, with the value of #rowFlushes when it did. */
  readonly #landed = new Map<string, number>();
  /** Deployments whose device states changed: announced together, at most every flushMs. */
  readonly #dirty = new Set<string>();
  #flush: NodeJS.Timeout | null = null;
  readonly flushMs = 100;
  readonly #rows: Batcher<RowWrite, null>;
  readonly #instances: Batcher<InstanceWrite, number>;
  readonly #facts: Batcher<{ deviceId: string; facts: StoredFacts }, null>;
  /** Devices whose last channel here closed: one statement for a wave of closes. */
  readonly #gone: Batcher<string, null>;
  /**
   * Devices whose deployment rows changed, to mark stale (their status columns): a batch of its
   * own, after the rows, so that recording states never waits behind the locks of `devices` rows
   * (facts writes and the status refresh hold them; at 10,000 devices each state batch waited ~2 s).
   */
  readonly #stale: Batcher<string, null>;
  /** Each device's latest queued facts write, until it is in. */
  readonly #lastFacts = new Map<string, Promise<boolean>>();

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
    private readonly replicaId: string,
    /** Whether a device has a channel here (again): such a device is not written disconnected. */
    private readonly holds: (deviceId: string) => boolean = () => false,
  ) {
    const dropped = (what: string) => (item: object, e: Error) =>
      this.log.warn({ item: summary(item), err: e.message.slice(0, 200) }, `dropped one ${what} write`);
    const split = (what: string) => (size: number, e: Error) =>
      this.log.warn(
        { size, err: e.message.slice(0, 200) },
        `a batch of ${what} writes failed: split in halves`,
      );
    this.#rows = new Batcher<RowWrite, null>(
      (items) => this.#writeRows(items),
      5,
      2000,
      dropped('device state'),
      split('device state'),
    );
    this.#instances = new Batcher<InstanceWrite, number>(
      (items) => this.#writeInstances(items),
      5,
      2000,
      dropped('instance'),
      split('instance'),
    );
    this.#facts = new Batcher<{ deviceId: string; facts: StoredFacts }, null>(
      async (items) => {
        await writeFactsBatch(this.db, this.replicaId, [...lastPerKey(items, (i) => i.deviceId).values()]);
        this.#statusChanged();
        return items.map(() => null);
      },
      10,
      2000,
      dropped('facts'),
      split('facts'),
    );
    this.#gone = new Batcher<string, null>(
      async (ids) => {
        await markDisconnected(this.db, [...new Set(ids.filter((id) => !this.holds(id)))], this.replicaId);
        return ids.map(() => null);
      },
      20,
      5000,
      (deviceId, e) =>
        this.log.warn({ deviceId, err: e.message.slice(0, 200) }, 'dropped one disconnect write'),
      split('disconnect'),
    );
    this.#stale = new Batcher<string, null>(
      async (ids) => {
        await markDevicesStale(this.db, ids); // it drops repeats
        this.#statusChanged();
        return ids.map(() => null);
      },
      5,
      5000,
      (deviceId, e) => this.log.warn({ deviceId, err: e.message.slice(0, 200) }, 'dropped one status mark'),
      split('status mark'),
    );
  }

  /** A mark to take before reading rows from the database (see landedSince). */
  get rowFlushes(): number {
    return this.#rowFlushes;
  }

  /**
   * Whether a write of this pair left the overlay at or after `mark`: a read of the database begun
   * at `mark` may hold the row from before it, and the overlay no longer shows it. Deciding on
   * such a row would write over a device's newer report (`applied` back to `applying`).
   */
  landedSince(deploymentId: string, deviceId: string, mark: number): boolean {
    return (this.#landed.get(rowKey(deploymentId, deviceId)) ?? -1) >= mark;
  }

  /** Forgets what landed before `mark`: no read that began earlier is still being used. */
  forgetLandedBefore(mark: number): void {
    for (const [k, n] of this.#landed) if (n < mark) this.#landed.delete(k);
  }

  /** The queued write for a (deployment, device), if any. */
  pending(deploymentId: string, deviceId: string): RowWrite | undefined {
    return this.#overlay.get(rowKey(deploymentId, deviceId));
  }

  /** Queues a state write; resolves false when the database refused it (logged once by the batcher). */
  row(w: RowWrite): Promise<boolean> {
    this.#overlay.set(rowKey(w.deploymentId, w.deviceId), w);
    return this.#rows.add(w).then(
      () => true,
      () => false,
    );
  }

  instance(i: InstanceWrite): Promise<number> {
    return this.#instances.add(i);
  }

  /** Queues a facts write; resolves false when the database refused it (logged once by the batcher). */
  facts(deviceId: string, facts: StoredFacts): Promise<boolean> {
    const done = this.#facts.add({ deviceId, facts }).then(
      () => true,
      () => false,
    );
    this.#lastFacts.set(deviceId, done);
    void done.then(() => {
      if (this.#lastFacts.get(deviceId) === done) this.#lastFacts.delete(deviceId);
    });
    return done;
  }

  /**
   * Records that the device's last channel here closed. Its queued facts writes go first: they set
   * `connected = true`, and a disconnect written before them would be undone for good. Resolves
   * false when the database refused it (logged once by the batcher).
   */
  async disconnected(deviceId: string): Promise<boolean> {
    await this.#lastFacts.get(deviceId);
    if (this.holds(deviceId)) return true; // it came back meanwhile
    return this.#gone.add(deviceId).then(
      () => true,
      () => false,
    );
  }

  /** Announces state changes of a deployment (coalesced: one event per deployment per flushMs). */
  changed(deploymentId: string): void {
    this.#dirty.add(deploymentId);
    if (this.#flush) return;
    this.#flush = setTimeout(() => {
      this.#flush = null;
      void this.#announce();
    }, this.flushMs);
    this.#flush.unref();
  }

  /** A deployment the rollback rule reverted: every replica reconciles its devices. */
  reverted(deploymentId: string): void {
    setImmediate(() =>
      this.bus
        .publish({ kind: 'deployment', id: deploymentId })
        .catch((e: Error) => this.log.error({ err: e }, 'announcing an automatic rollback failed')),
    );
  }

  async drain(): Promise<void> {
    await Promise.allSettled([
      this.#rows.drain(),
      this.#instances.drain(),
      this.#facts.drain(),
      this.#gone.drain(),
    ]);
    await this.#stale.drain(); // after the rows, which add to it
    if (this.#flush) {
      clearTimeout(this.#flush);
      this.#flush = null;
      await this.#announce();
    }
  }

  /** Device status columns (fleet/status-columns.ts): recomputed in the background after a burst. */
  #statusChanged(): void {
    kickRefresh(this.db, (e) =>
      this.log.warn({ err: e.message.slice(0, 200) }, 'device status refresh failed'),
    );
  }

  async #announce(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    for (const id of ids)
      await this.bus
        .publish({ kind: 'state', deploymentId: id })
        .catch((e: Error) => this.log.error({ err: e }, 'announcing a state change failed'));
  }

  async #writeRows(items: RowWrite[]): Promise<null[]> {
    const last = collapse(items);
    const latest = lastPerKey(items, (w) => rowKey(w.deploymentId, w.deviceId));
    try {
      const changed = await writeRowsBatch(this.db, [...last.values()]);
      for (const r of changed) this.#stale.add(r.device_id).catch(() => {}); // dropped: logged by the batcher
      const failed = new Set<string>();
      // Device reports are audited one entry per deployment and state per batch (bounded rows),
      // naming each device and what it said.
      const reports = new Map<
        string,
        { deploymentId: string; patchId: string; state: string; devices: object[] }
      >();
      for (const r of changed) {
        this.changed(r.deployment_id);
        if (r.state === 'failed') failed.add(r.deployment_id);
        const w = last.get(rowKey(r.deployment_id, r.device_id));
        if (!w?.patchId) continue;
        const k = `${r.deployment_id}\n${r.state}`;
        const e = reports.get(k) ?? {
          deploymentId: r.deployment_id,
          patchId: w.patchId,
          state: r.state,
          devices: [],
        };
        e.devices.push({ deviceId: r.device_id, reason: r.reason });
        reports.set(k, e);
      }
      const entries = [...reports.values()].map((e) => ({
        actor:
          e.devices.length === 1
            ? `device ${(e.devices[0] as { deviceId: string }).deviceId}`
            : `${e.devices.length} devices`,
        action: 'device.state',
        subject: e.deploymentId,
        detail: e,
      }));
      await auditMany(this.db, entries);
      for (const id of failed)
        if (await this.db.transaction((tx) => checkRollback(tx, id))) this.reverted(id);
    } finally {
      const n = this.#rowFlushes++;
      for (const [k, w] of latest) {
        this.#landed.set(k, n);
        if (this.#overlay.get(k) === w) this.#overlay.delete(k);
      }
    }
    return items.map(() => null);
  }

  async #writeInstances(items: InstanceWrite[]): Promise<number[]> {
    const k = (i: { deviceId: string; pid: number; startedAt: string }) =>
      `${i.deviceId}\n${i.pid}\n${Date.parse(i.startedAt)}`;
    const rows = await writeInstancesBatch(this.db, [...lastPerKey(items, k).values()]);
    const ids = new Map(rows.map((r) => [k(r), r.id]));
    return items.map((i) => ids.get(k(i)) ?? 0);
  }
}

/** What a dropped write is logged as: ids, not the device's text. */
function summary(item: object): Record<string, unknown> {
  const o = item as Record<string, unknown>;
  return { deviceId: o.deviceId, deploymentId: o.deploymentId, state: o.state };
}
