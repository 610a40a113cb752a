import { hotpatchEligibility } from '@hotpatch/core';
import { Value } from '@sinclair/typebox/value';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { audit } from '../audit.js';
import type { Database, Sql } from '../db/types.js';
import { getBundle, getBundleBody, listPolicies, toDeployment, toDeploymentDevice } from '../store.js';
import { Batcher } from './batcher.js';
import type { Bus, BusEvent } from './bus.js';
import { decide } from './decide.js';
import type { BundleMeta, DeploymentDevice, DeviceState, Labels, Policy, StoredFacts } from './model.js';
import { placeDevice } from './placement.js';
import { AgentMessage, PROTOCOL_VERSION, type ServerMessage } from './protocol.js';

interface Connection {
  socket: WebSocket;
  deviceId: string;
  instanceId: number | null;
  facts: StoredFacts | null;
  /** What the last facts said about loaded packages and patches (reconcile when it changes). */
  factsKey: string;
  /** deploymentId -> what was sent on this connection. */
  sent: Map<string, 'deploy' | 'revert'>;
}

/** One device state write (from the scheduler or reported by the device). */
interface RowWrite {
  deploymentId: string;
  deviceId: string;
  /** Set for device reports: the write lands only if the deployment carries this patch. */
  patchId: string | null;
  state: DeviceState;
  ring: string | null;
  reason: string | null;
  action: string | null;
  scheduledFor: string | null;
  instanceId: number | null;
}

const key = (deploymentId: string, deviceId: string) => `${deploymentId}\n${deviceId}`;

/** Keeps the last item per key, in first-seen order. */
function lastPerKey<T>(items: readonly T[], k: (t: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const it of items) m.set(k(it), it);
  return m;
}

/**
 * The devices connected to this replica: receives their facts and reports, and pushes deploys
 * and reverts. Decisions come from the database (shared by replicas); bus events from any
 * replica make this one reconcile its own devices.
 *
 * Built for fleets: reconcile requests coalesce into batches (a few queries per batch, not per
 * device), and writes from many devices share one statement (Batcher), in arrival order.
 */
export class Hub {
  readonly #conns = new Map<string, Set<Connection>>();
  readonly #bundles = new Map<string, BundleMeta>();
  readonly #bodies = new Map<string, string>();
  #policies: Promise<Policy[]> | null = null;
  #tick: NodeJS.Timeout | null = null;
  /** Devices waiting to be reconciled, and the loop working through them. */
  readonly #want = new Set<string>();
  #loop: Promise<void> | null = null;
  /** Writes queued but not yet in the database: reconcile reads them first. */
  readonly #overlay = new Map<string, RowWrite>();
  /** Deployments whose device states changed: announced together, at most every flushMs. */
  readonly #dirty = new Set<string>();
  #flush: NodeJS.Timeout | null = null;
  readonly flushMs = 100;
  readonly #rows: Batcher<RowWrite, null>;
  readonly #instances: Batcher<
    { deviceId: string; pid: number; startedAt: string; node: string | null },
    number
  >;
  readonly #facts: Batcher<{ deviceId: string; facts: StoredFacts }, null>;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
    private readonly tickMs: number,
  ) {
    this.#rows = new Batcher((items) => this.#writeRows(items), 5, 2000);
    this.#instances = new Batcher((items) => this.#writeInstances(items), 5, 2000);
    this.#facts = new Batcher((items) => this.#writeFacts(items), 10, 2000);
  }

  start(): void {
    this.bus.on('event', (e) => this.#onBus(e));
    this.#tick = setInterval(() => void this.#due(), this.tickMs);
    this.#tick.unref();
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.#conns.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    if (this.#tick) clearInterval(this.#tick);
    const ids = [...this.#conns.keys()];
    for (const set of this.#conns.values()) for (const c of set) c.socket.close(1001, 'server shutting down');
    this.#conns.clear();
    this.#want.clear();
    await this.#loop?.catch(() => {});
    await Promise.allSettled([this.#rows.drain(), this.#instances.drain(), this.#facts.drain()]);
    if (this.#flush) {
      clearTimeout(this.#flush);
      this.#flush = null;
      await this.#announce();
    }
    if (ids.length > 0)
      await this.db.query('UPDATE devices SET connected = false WHERE id = ANY($1)', [ids]).catch(() => {});
  }

  attach(socket: WebSocket, deviceId: string): void {
    const conn: Connection = {
      socket,
      deviceId,
      instanceId: null,
      facts: null,
      factsKey: '',
      sent: new Map(),
    };
    const set = this.#conns.get(deviceId) ?? new Set();
    set.add(conn);
    this.#conns.set(deviceId, set);
    socket.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return this.#send(conn, { type: 'error', code: 'E_VALIDATION', message: 'not JSON' });
      }
      if (!Value.Check(AgentMessage, msg)) {
        const first = Value.Errors(AgentMessage, msg).First();
        return this.#send(conn, {
          type: 'error',
          code: 'E_VALIDATION',
          message: `${first?.path ?? '/'}: ${first?.message ?? 'invalid'}`,
        });
      }
      this.#onMessage(conn, msg as AgentMessage).catch((e: Error) =>
        this.log.error({ err: e, deviceId }, 'device message failed'),
      );
    });
    socket.on('close', () => {
      set.delete(conn);
      if (set.size === 0 && this.#conns.get(deviceId) === set) {
        this.#conns.delete(deviceId);
        this.db
          .query('UPDATE devices SET connected = false, last_seen = now() WHERE id = $1', [deviceId])
          .catch(() => {});
      }
    });
    socket.on('error', () => {});
  }

  reconcileAll(): void {
    this.#request(this.#conns.keys());
  }

  // ---------------------------------------------------------------- events

  #onBus(e: BusEvent): void {
    if (e.kind === 'policy' || e.kind === 'device') this.#policies = null;
    if (e.kind === 'deployment' || e.kind === 'policy') this.reconcileAll();
    else if (e.kind === 'device' && this.#conns.has(e.id)) this.#request([e.id]);
  }

  /** Scheduler tick: devices here whose ring deferral has just come due. */
  async #due(): Promise<void> {
    if (this.#conns.size === 0) return;
    try {
      const rows = await this.db.query<{ device_id: string }>(
        "SELECT DISTINCT device_id FROM deployment_devices WHERE state = 'scheduled' AND scheduled_for <= now()",
      );
      this.#request(rows.map((r) => r.device_id).filter((id) => this.#conns.has(id)));
    } catch (e) {
      this.log.error({ err: e }, 'scheduler tick failed');
    }
  }

  /** Announces state changes of a deployment (coalesced: one event per deployment per flushMs). */
  #changed(deploymentId: string): void {
    this.#dirty.add(deploymentId);
    if (this.#flush) return;
    this.#flush = setTimeout(() => {
      this.#flush = null;
      void this.#announce();
    }, this.flushMs);
    this.#flush.unref();
  }

  async #announce(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    for (const id of ids) await this.bus.publish({ kind: 'state', deploymentId: id }).catch(() => {});
  }

  #send(conn: Connection, msg: ServerMessage): void {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(JSON.stringify(msg));
  }

  // ---------------------------------------------------------------- device messages

  async #onMessage(conn: Connection, msg: AgentMessage): Promise<void> {
    if (msg.type === 'hello' || msg.type === 'facts') {
      const facts = msg.facts as unknown as StoredFacts;
      conn.facts = facts;
      const factsKey = JSON.stringify([
        facts.packages.map((p) => [p.name, p.version]),
        facts.patches.map((p) => [p.patchId, p.state]),
      ]);
      const changed = factsKey !== conn.factsKey;
      conn.factsKey = factsKey;
      void this.#facts
        .add({ deviceId: conn.deviceId, facts })
        .catch((e: Error) => this.log.error({ err: e }, 'facts write failed'));
      if (msg.type === 'hello' || conn.instanceId === null) {
        conn.instanceId = await this.#instances.add({
          deviceId: conn.deviceId,
          pid: facts.pid,
          startedAt: facts.startedAt,
          node: facts.node,
        });
        if (msg.type === 'hello')
          this.#send(conn, {
            type: 'welcome',
            deviceId: conn.deviceId,
            instanceId: conn.instanceId,
            protocol: PROTOCOL_VERSION,
          });
        this.#request([conn.deviceId]);
      } else if (changed) this.#request([conn.deviceId]);
      return;
    }
    if (msg.type === 'state') {
      const reason = msg.error ? `${msg.error.code}: ${msg.error.message}` : (msg.reason ?? null);
      await this.#write({
        deploymentId: msg.deploymentId,
        deviceId: conn.deviceId,
        patchId: msg.patchId,
        state: msg.state,
        ring: null,
        reason,
        action: msg.state === 'failed' ? 'see the error; the device keeps running its current code' : null,
        scheduledFor: null,
        instanceId: conn.instanceId,
      });
      return;
    }
    if (msg.type === 'errors') {
      const deps = await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ deployment_id: string }>(
          `UPDATE deployment_devices SET errors = errors + $3, updated_at = now() WHERE device_id = $1
           AND deployment_id IN (SELECT id FROM deployments WHERE patch_id = $2 AND state = 'active') RETURNING deployment_id`,
          [conn.deviceId, msg.patchId, msg.count],
        );
        for (const r of rows) await this.#checkRollback(tx, r.deployment_id);
        return rows.map((r) => r.deployment_id);
      });
      for (const d of deps) this.#changed(d);
    }
  }

  // ---------------------------------------------------------------- batched writes

  #write(w: RowWrite): Promise<null> {
    this.#overlay.set(key(w.deploymentId, w.deviceId), w);
    return this.#rows.add(w);
  }

  async #writeRows(items: RowWrite[]): Promise<null[]> {
    const last = lastPerKey(items, (w) => key(w.deploymentId, w.deviceId));
    const payload = [...last.values()].map((w) => ({
      deployment_id: w.deploymentId,
      device_id: w.deviceId,
      patch_id: w.patchId,
      state: w.state,
      ring: w.ring,
      reason: w.reason,
      action: w.action,
      scheduled_for: w.scheduledFor,
      instance_id: w.instanceId,
    }));
    try {
      const changed = await this.db.query<{ deployment_id: string; state: string }>(
        `INSERT INTO deployment_devices AS dd (deployment_id, device_id, state, ring, reason, action, scheduled_for, instance_id, applied_at, updated_at)
         SELECT x.deployment_id, x.device_id, x.state, x.ring, x.reason, x.action, x.scheduled_for, x.instance_id,
                CASE WHEN x.state = 'applied' THEN now() END, now()
         FROM jsonb_to_recordset($1::jsonb) AS x(deployment_id text, device_id text, patch_id text, state text, ring text, reason text,
                                                 action text, scheduled_for timestamptz, instance_id bigint)
         JOIN deployments d ON d.id = x.deployment_id AND (x.patch_id IS NULL OR d.patch_id = x.patch_id)
         JOIN devices v ON v.id = x.device_id
         ON CONFLICT (deployment_id, device_id) DO UPDATE SET
           state = EXCLUDED.state, ring = COALESCE(EXCLUDED.ring, dd.ring), reason = EXCLUDED.reason, action = EXCLUDED.action,
           scheduled_for = COALESCE(EXCLUDED.scheduled_for, dd.scheduled_for), instance_id = COALESCE(EXCLUDED.instance_id, dd.instance_id),
           applied_at = CASE WHEN EXCLUDED.state = 'applied' THEN COALESCE(dd.applied_at, now()) ELSE dd.applied_at END,
           updated_at = now()
         WHERE dd.state IS DISTINCT FROM EXCLUDED.state OR dd.reason IS DISTINCT FROM EXCLUDED.reason
           OR dd.action IS DISTINCT FROM EXCLUDED.action OR dd.ring IS DISTINCT FROM COALESCE(EXCLUDED.ring, dd.ring)
           OR dd.scheduled_for IS DISTINCT FROM COALESCE(EXCLUDED.scheduled_for, dd.scheduled_for)
           OR dd.instance_id IS DISTINCT FROM COALESCE(EXCLUDED.instance_id, dd.instance_id)
         RETURNING dd.deployment_id, dd.state`,
        [JSON.stringify(payload)],
      );
      const failed = new Set<string>();
      for (const r of changed) {
        this.#changed(r.deployment_id);
        if (r.state === 'failed') failed.add(r.deployment_id);
      }
      for (const id of failed) await this.db.transaction((tx) => this.#checkRollback(tx, id));
    } finally {
      for (const [k, w] of last) if (this.#overlay.get(k) === w) this.#overlay.delete(k);
    }
    return items.map(() => null);
  }

  async #writeInstances(
    items: Array<{ deviceId: string; pid: number; startedAt: string; node: string | null }>,
  ): Promise<number[]> {
    const k = (i: { deviceId: string; pid: number; startedAt: string }) =>
      `${i.deviceId}\n${i.pid}\n${Date.parse(i.startedAt)}`;
    const last = lastPerKey(items, k);
    const rows = await this.db.query<{
      id: string | number;
      device_id: string;
      pid: number;
      started_at: Date | string;
    }>(
      `INSERT INTO instances (device_id, pid, started_at, node)
       SELECT x.device_id, x.pid, x.started_at, x.node FROM jsonb_to_recordset($1::jsonb) AS x(device_id text, pid integer, started_at timestamptz, node text)
       ON CONFLICT (device_id, pid, started_at) DO UPDATE SET last_seen = now()
       RETURNING id, device_id, pid, started_at`,
      [
        JSON.stringify(
          [...last.values()].map((i) => ({
            device_id: i.deviceId,
            pid: i.pid,
            started_at: i.startedAt,
            node: i.node,
          })),
        ),
      ],
    );
    const ids = new Map(
      rows.map((r) => [
        k({ deviceId: r.device_id, pid: r.pid, startedAt: new Date(r.started_at).toISOString() }),
        Number(r.id),
      ]),
    );
    return items.map((i) => ids.get(k(i)) ?? 0);
  }

  async #writeFacts(items: Array<{ deviceId: string; facts: StoredFacts }>): Promise<null[]> {
    const last = lastPerKey(items, (i) => i.deviceId);
    await this.db.query(
      `UPDATE devices d SET facts = x.facts, connected = true, last_seen = now()
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, facts jsonb) WHERE d.id = x.id`,
      [JSON.stringify([...last.values()].map((i) => ({ id: i.deviceId, facts: i.facts })))],
    );
    return items.map(() => null);
  }

  /** The policy's automatic rollback rule: too many failures or errors revert the deployment fleet-wide. */
  async #checkRollback(tx: Sql, deploymentId: string): Promise<void> {
    const rows = await tx.query<{ failed: number; errors: number; rollback: unknown; state: string }>(
      `SELECT (SELECT count(*)::int FROM deployment_devices WHERE deployment_id = $1 AND state = 'failed') AS failed,
              (SELECT coalesce(sum(errors), 0)::int FROM deployment_devices WHERE deployment_id = $1) AS errors,
              p.rollback, d.state
       FROM deployments d JOIN policies p ON p.id = d.policy_id WHERE d.id = $1`,
      [deploymentId],
    );
    const r = rows[0];
    if (!r || r.state !== 'active') return;
    const rule = (typeof r.rollback === 'string' ? JSON.parse(r.rollback) : r.rollback) as {
      maxFailures?: number;
      maxErrors?: number;
    };
    let why: string | null = null;
    if (rule.maxFailures && r.failed >= rule.maxFailures)
      why = `${r.failed} devices failed (rollback rule: ${rule.maxFailures})`;
    if (rule.maxErrors && r.errors >= rule.maxErrors)
      why = `${r.errors} errors from patched functions (rollback rule: ${rule.maxErrors})`;
    if (!why) return;
    await tx.query(
      "UPDATE deployments SET state = 'reverted', reverted_at = now(), revert_reason = $2 WHERE id = $1",
      [deploymentId, why],
    );
    await audit(tx, 'system', 'deployment.auto-rollback', deploymentId, { reason: why });
    setImmediate(() => void this.bus.publish({ kind: 'deployment', id: deploymentId }).catch(() => {}));
  }

  // ---------------------------------------------------------------- reconcile

  #request(ids: Iterable<string>): void {
    for (const id of ids) this.#want.add(id);
    if (this.#want.size > 0 && !this.#loop) {
      this.#loop = (async () => {
        // Let requests arriving together (a burst of hellos, a bus event) form one batch.
        await new Promise((r) => setImmediate(r));
        while (this.#want.size > 0) {
          const batch = [...this.#want].slice(0, 2000);
          for (const id of batch) this.#want.delete(id);
          try {
            await this.#reconcileBatch(batch);
          } catch (e) {
            this.log.error({ err: e }, 'reconcile failed');
          }
        }
      })().finally(() => {
        this.#loop = null;
        if (this.#want.size > 0) this.#request([]);
      });
    }
  }

  #listPolicies(): Promise<Policy[]> {
    this.#policies ??= listPolicies(this.db).catch((e: Error) => {
      this.#policies = null;
      throw e;
    });
    return this.#policies;
  }

  async #bundle(patchId: string): Promise<BundleMeta | null> {
    let b = this.#bundles.get(patchId);
    if (!b) {
      const got = await getBundle(this.db, patchId);
      if (!got) return null;
      b = got;
      this.#bundles.set(patchId, b);
    }
    return b;
  }

  async #body(patchId: string): Promise<string | null> {
    let body = this.#bodies.get(patchId);
    if (body === undefined) {
      const text = await getBundleBody(this.db, patchId);
      if (text === null) return null;
      body = Buffer.from(text).toString('base64');
      this.#bodies.set(patchId, body);
    }
    return body;
  }

  /** Decides, for a batch of connected devices, what each should have; writes states and sends deploys/reverts. */
  async #reconcileBatch(ids: string[]): Promise<void> {
    const local = ids.filter((id) => this.#conns.has(id));
    if (local.length === 0) return;
    const devices = await this.db.query<{
      id: string;
      labels: unknown;
      policy_id: string | null;
      revoked_at: unknown;
    }>('SELECT id, labels, policy_id, revoked_at FROM devices WHERE id = ANY($1)', [local]);
    const byId = new Map(devices.map((d) => [d.id, d]));
    const policies = await this.#listPolicies();
    const deps = (
      await this.db.query(
        `SELECT * FROM deployments WHERE state = 'active'
         OR (state = 'reverted' AND id IN (SELECT deployment_id FROM deployment_devices WHERE device_id = ANY($1) AND state IN ('applying', 'applied', 'pending')))
         ORDER BY created_at`,
        [local],
      )
    ).map(toDeployment);
    const rows = new Map<string, DeploymentDevice>();
    if (deps.length > 0) {
      for (const r of await this.db.query(
        'SELECT * FROM deployment_devices WHERE device_id = ANY($1) AND deployment_id = ANY($2)',
        [local, deps.map((d) => d.id)],
      )) {
        const row = toDeploymentDevice(r);
        rows.set(key(row.deploymentId, row.deviceId), row);
      }
    }
    const now = new Date();
    for (const id of local) {
      const conns = this.#conns.get(id);
      if (!conns) continue;
      const device = byId.get(id);
      if (!device || device.revoked_at) {
        for (const c of conns) {
          this.#send(c, { type: 'revoked' });
          c.socket.close(4003, 'device revoked');
        }
        continue;
      }
      const labels = (
        typeof device.labels === 'string' ? JSON.parse(device.labels) : device.labels
      ) as Labels;
      const place = placeDevice({ labels, policyId: device.policy_id }, policies);
      for (const conn of conns) {
        for (const dep of deps) {
          const k = key(dep.id, id);
          const dbRow = rows.get(k) ?? null;
          const pendingWrite = this.#overlay.get(k);
          const row = pendingWrite
            ? {
                state: pendingWrite.state,
                instanceId: pendingWrite.instanceId ?? dbRow?.instanceId ?? null,
                reason: pendingWrite.reason,
              }
            : dbRow;
          if (dep.state === 'active' && dep.policyId !== place?.policy.id) continue;
          if (
            dep.state === 'reverted' &&
            !(row && (row.state === 'applying' || row.state === 'applied' || row.state === 'pending'))
          )
            continue;
          const policy = policies.find((p) => p.id === dep.policyId);
          const bundle = await this.#bundle(dep.patchId);
          if (!policy || !bundle) continue;
          const facts = conn.facts;
          const eligibility = hotpatchEligibility(
            facts,
            { name: policy.name, allowHotpatch: policy.allowHotpatch },
            {
              name: bundle.targetName,
              baseline: bundle.targetBaseline,
              files: bundle.files,
              fixedIn: bundle.fixedIn,
            },
          );
          const ring = place?.policy.id === policy.id ? place.ring : null;
          const d = decide({
            deployment: dep,
            policy,
            ring,
            eligibility,
            row,
            instanceId: conn.instanceId,
            devicePatch: facts?.patches.find((p) => p.patchId === dep.patchId)?.state ?? null,
            alreadySent: conn.sent.get(dep.id) === (dep.state === 'reverted' ? 'revert' : 'deploy'),
            now,
          });
          const same =
            row &&
            row.state === d.state &&
            row.reason === d.reason &&
            (dbRow?.scheduledFor ?? null) === d.scheduledFor &&
            row.instanceId === conn.instanceId;
          if (!same) {
            void this.#write({
              deploymentId: dep.id,
              deviceId: id,
              patchId: null,
              state: d.state,
              ring: ring?.name ?? null,
              reason: d.reason,
              action: d.action,
              scheduledFor: d.scheduledFor,
              instanceId: conn.instanceId,
            }).catch((e: Error) => this.log.error({ err: e }, 'state write failed'));
          }
          if (d.send === 'deploy') {
            const body = await this.#body(dep.patchId);
            if (body === null) continue;
            conn.sent.set(dep.id, 'deploy');
            this.#send(conn, { type: 'deploy', deploymentId: dep.id, patchId: dep.patchId, bundle: body });
          } else if (d.send === 'revert') {
            conn.sent.set(dep.id, 'revert');
            this.#send(conn, { type: 'revert', deploymentId: dep.id, patchId: dep.patchId });
          }
        }
      }
    }
  }
}
