import { hotpatchEligibility } from '@hotpatch/core';
import { Value } from '@sinclair/typebox/value';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { audit } from '../audit.js';
import type { Database } from '../db/types.js';
import {
  getBundle,
  getBundleBody,
  getDevice,
  listPolicies,
  toDeployment,
  toDeploymentDevice,
  upsertRow,
} from '../store.js';
import type { Bus, BusEvent } from './bus.js';
import { decide } from './decide.js';
import type { BundleMeta, Device, StoredFacts } from './model.js';
import { placeDevice } from './placement.js';
import { AgentMessage, PROTOCOL_VERSION, type ServerMessage } from './protocol.js';

interface Connection {
  socket: WebSocket;
  deviceId: string;
  instanceId: number | null;
  /** deploymentId -> what was sent on this connection. */
  sent: Map<string, 'deploy' | 'revert'>;
}

/**
 * The devices connected to this replica: receives their facts and reports, and pushes deploys
 * and reverts. Decisions come from the database (shared by replicas); bus events from any
 * replica make this one reconcile its own devices.
 */
export class Hub {
  readonly #conns = new Map<string, Set<Connection>>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #bundles = new Map<string, BundleMeta>();
  #tick: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
    private readonly tickMs: number,
  ) {}

  start(): void {
    this.bus.on('event', (e) => this.#onBus(e));
    this.#tick = setInterval(() => this.reconcileAll(), this.tickMs);
    this.#tick.unref();
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.#conns.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    if (this.#tick) clearInterval(this.#tick);
    for (const set of this.#conns.values()) for (const c of set) c.socket.close(1001, 'server shutting down');
    await Promise.allSettled([...this.#chains.values()]);
    const ids = [...this.#conns.keys()];
    if (ids.length > 0)
      await this.db.query('UPDATE devices SET connected = false WHERE id = ANY($1)', [ids]).catch(() => {});
    this.#conns.clear();
  }

  attach(socket: WebSocket, deviceId: string): void {
    const conn: Connection = { socket, deviceId, instanceId: null, sent: new Map() };
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
      this.#serial(deviceId, () => this.#onMessage(conn, msg as AgentMessage));
    });
    socket.on('close', () => {
      set.delete(conn);
      if (set.size === 0) {
        this.#conns.delete(deviceId);
        this.#serial(deviceId, async () => {
          if (!this.#conns.has(deviceId))
            await this.db.query('UPDATE devices SET connected = false, last_seen = now() WHERE id = $1', [
              deviceId,
            ]);
        });
      }
    });
    socket.on('error', () => {});
  }

  reconcileAll(): void {
    for (const id of this.#conns.keys()) this.#serial(id, () => this.#reconcile(id));
  }

  #onBus(e: BusEvent): void {
    if (e.kind === 'deployment' || e.kind === 'policy') this.reconcileAll();
    else if (e.kind === 'device' && this.#conns.has(e.id)) this.#serial(e.id, () => this.#reconcile(e.id));
  }

  /** Runs device work one at a time per device, in order. */
  #serial(deviceId: string, fn: () => Promise<void>): void {
    const prev = this.#chains.get(deviceId) ?? Promise.resolve();
    const next = prev
      .then(fn)
      .catch((e: Error) => this.log.error({ err: e, deviceId }, 'device work failed'))
      .finally(() => {
        if (this.#chains.get(deviceId) === next) this.#chains.delete(deviceId);
      });
    this.#chains.set(deviceId, next);
  }

  #send(conn: Connection, msg: ServerMessage): void {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(JSON.stringify(msg));
  }

  async #onMessage(conn: Connection, msg: AgentMessage): Promise<void> {
    if (msg.type === 'hello' || msg.type === 'facts') {
      const facts = msg.facts as unknown as StoredFacts;
      if (msg.type === 'hello' || conn.instanceId === null) {
        const rows = await this.db.query<{ id: string | number }>(
          `INSERT INTO instances (device_id, pid, started_at, node) VALUES ($1, $2, $3, $4)
           ON CONFLICT (device_id, pid, started_at) DO UPDATE SET last_seen = now() RETURNING id`,
          [conn.deviceId, facts.pid, facts.startedAt, facts.node],
        );
        conn.instanceId = Number(rows[0]?.id);
        if (msg.type === 'hello')
          this.#send(conn, {
            type: 'welcome',
            deviceId: conn.deviceId,
            instanceId: conn.instanceId,
            protocol: PROTOCOL_VERSION,
          });
      }
      await this.db.query(
        'UPDATE devices SET facts = $2, connected = true, last_seen = now() WHERE id = $1',
        [conn.deviceId, JSON.stringify(facts)],
      );
      await this.#reconcile(conn.deviceId);
      return;
    }
    if (msg.type === 'state') {
      const changed = await this.db.transaction(async (tx) => {
        const cur = await tx.query(
          'SELECT d.*, p.patch_id AS p FROM deployment_devices d JOIN deployments p ON p.id = d.deployment_id WHERE d.deployment_id = $1 AND d.device_id = $2 FOR UPDATE',
          [msg.deploymentId, conn.deviceId],
        );
        const row = cur[0];
        if (!row || row.p !== msg.patchId) return false;
        const reason = msg.error ? `${msg.error.code}: ${msg.error.message}` : (msg.reason ?? null);
        await upsertRow(tx, {
          ...toDeploymentDevice(row),
          state: msg.state,
          reason,
          action: msg.state === 'failed' ? 'see the error; the device keeps running its current code' : null,
          instanceId: conn.instanceId,
        });
        if (msg.state === 'failed') await this.#checkRollback(tx, msg.deploymentId);
        return true;
      });
      if (changed) await this.bus.publish({ kind: 'state', deploymentId: msg.deploymentId });
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
      for (const d of deps) await this.bus.publish({ kind: 'state', deploymentId: d });
    }
  }

  /** The policy's automatic rollback rule: too many failures or errors revert the deployment fleet-wide. */
  async #checkRollback(
    tx: Parameters<Parameters<Database['transaction']>[0]>[0],
    deploymentId: string,
  ): Promise<void> {
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
    setImmediate(() => void this.bus.publish({ kind: 'deployment', id: deploymentId }));
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

  async #reconcile(deviceId: string): Promise<void> {
    const conns = this.#conns.get(deviceId);
    if (!conns || conns.size === 0) return;
    const device = await getDevice(this.db, deviceId);
    if (!device || device.revokedAt) {
      for (const c of conns) {
        this.#send(c, { type: 'revoked' });
        c.socket.close(4003, 'device revoked');
      }
      return;
    }
    for (const conn of conns) await this.#reconcileConn(conn, device);
  }

  async #reconcileConn(conn: Connection, device: Device): Promise<void> {
    const policies = await listPolicies(this.db);
    const place = placeDevice(device, policies);
    const facts = device.facts;
    const deps = (
      await this.db.query(
        `SELECT d.* FROM deployments d WHERE (d.policy_id = $1 AND d.state = 'active')
         OR (d.state = 'reverted' AND d.id IN (SELECT deployment_id FROM deployment_devices WHERE device_id = $2 AND state IN ('applying', 'applied', 'pending')))
         ORDER BY d.created_at`,
        [place?.policy.id ?? '', device.id],
      )
    ).map(toDeployment);
    const changedDeps: string[] = [];
    for (const dep of deps) {
      const policy = policies.find((p) => p.id === dep.policyId);
      const bundle = await this.#bundle(dep.patchId);
      if (!policy || !bundle) continue;
      const cur = await this.db.query(
        'SELECT * FROM deployment_devices WHERE deployment_id = $1 AND device_id = $2',
        [dep.id, device.id],
      );
      const row = cur[0] ? toDeploymentDevice(cur[0]) : null;
      const devicePatch = facts?.patches.find((p) => p.patchId === dep.patchId)?.state ?? null;
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
        devicePatch,
        alreadySent: conn.sent.get(dep.id) === (dep.state === 'reverted' ? 'revert' : 'deploy'),
        now: new Date(),
      });
      const changed = await upsertRow(this.db, {
        deploymentId: dep.id,
        deviceId: device.id,
        state: d.state,
        ring: ring?.name ?? row?.ring ?? null,
        reason: d.reason,
        action: d.action,
        scheduledFor: d.scheduledFor,
        instanceId: conn.instanceId,
      });
      if (changed) changedDeps.push(dep.id);
      if (d.send === 'deploy') {
        const body = await getBundleBody(this.db, dep.patchId);
        if (body === null) continue;
        conn.sent.set(dep.id, 'deploy');
        this.#send(conn, {
          type: 'deploy',
          deploymentId: dep.id,
          patchId: dep.patchId,
          bundle: Buffer.from(body).toString('base64'),
        });
      } else if (d.send === 'revert') {
        conn.sent.set(dep.id, 'revert');
        this.#send(conn, { type: 'revert', deploymentId: dep.id, patchId: dep.patchId });
      }
    }
    for (const id of changedDeps) await this.bus.publish({ kind: 'state', deploymentId: id });
  }
}
