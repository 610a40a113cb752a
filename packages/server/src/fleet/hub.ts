/**
 * The devices connected to this replica: their WebSocket channels, the messages they send (checked
 * against @hotpatch/protocol, rate-limited, accepted only for deployments sent to them) and what
 * is pushed to them. Writes go through the Writer, decisions through the Reconciler; bus events
 * from any replica make this one reconcile its own devices.
 */
import {
  type AgentMessage,
  CLOSE,
  checkAgentMessage,
  Facts,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '@hotpatch/protocol';
import { Value } from '@sinclair/typebox/value';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Database } from '../db/types.js';
import { addErrors, dueDevices, markDisconnected, sentPairs } from '../store.js';
import { Batcher } from './batcher.js';
import type { Bus, BusEvent } from './bus.js';
import { recordHealth } from './health-report.js';
import type { StoredFacts } from './model.js';
import { pingDecision, stalledRound } from './ping.js';
import { TokenBuckets, WindowBudget } from './ratelimit.js';
import { type Channel, type Channels, Reconciler } from './reconcile.js';
import { checkRollback, ERRORS_PER_DEVICE } from './rollback.js';
import { rowKey, Writer } from './writer.js';

export interface HubOptions {
  /** Re-check connected devices for due ring deferrals this often. */
  tickMs: number;
  /** Ping every connection this often; one without a pong by the next ping is dropped. */
  pingMs: number;
  /** Connections one device may hold on this replica; a new one closes the oldest. */
  maxConnectionsPerDevice: number;
  /** Messages per device: a burst of `burst`, then `perSecond`. */
  messages: { burst: number; perSecond: number };
  /** A connection whose unsent output exceeds this is a slow consumer: dropped, not queued to. */
  maxBufferedBytes: number;
}

export const HUB_DEFAULTS: HubOptions = {
  tickMs: 10_000,
  pingMs: 30_000,
  maxConnectionsPerDevice: 4,
  messages: { burst: 300, perSecond: 30 },
  maxBufferedBytes: 8 * 1024 * 1024,
};

interface Connection extends Channel {
  socket: WebSocket;
  deviceId: string;
  instanceId: number | null;
  facts: StoredFacts | null;
  /** What the last facts said about loaded packages and patches (reconcile when it changes). */
  factsKey: string;
  sent: Map<string, 'deploy' | 'revert'>;
  /** Deployments this device may report on (sent to it on this or an earlier connection). */
  reportable: Set<string>;
  /** Ping rounds in a row without a pong or a message (fleet/ping.ts). */
  missed: number;
}

export class Hub {
  readonly #conns = new Map<string, Set<Connection>>();
  readonly #writer: Writer;
  readonly #reconciler: Reconciler;
  /** Whether a deployment was sent to a device, asked for many devices at once. */
  readonly #sent: Batcher<{ deploymentId: string; deviceId: string }, boolean>;
  readonly #rate: TokenBuckets;
  /** Errors a device reports count for at most ERRORS_PER_DEVICE per minute. */
  readonly #errors = new WindowBudget(ERRORS_PER_DEVICE, 60_000);
  /** Deploy messages encoded once for all devices (the bundle is most of it; see #encode). */
  readonly #encoded = new Map<string, Buffer>();
  #tick: NodeJS.Timeout | null = null;
  #ping: NodeJS.Timeout | null = null;
  /** When the last ping round ran (performance.now()). */
  #lastPingRound: number | null = null;
  readonly #opts: HubOptions;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
    readonly replicaId: string,
    opts: Partial<HubOptions> = {},
  ) {
    this.#opts = { ...HUB_DEFAULTS, ...opts };
    this.#rate = new TokenBuckets(this.#opts.messages.burst, this.#opts.messages.perSecond);
    this.#writer = new Writer(db, bus, log, replicaId, (id) => this.#conns.has(id));
    this.#sent = new Batcher(async (pairs) => {
      const sent = await sentPairs(db, pairs);
      return pairs.map((p) => sent.has(rowKey(p.deploymentId, p.deviceId)));
    }, 5);
    const channels: Channels = {
      of: (id) => this.#conns.get(id),
      has: (id) => this.#conns.has(id),
      push: (c, msg) => this.#push(c as Connection, msg),
      refuse: (id, why) => this.#refuse(id, why),
    };
    this.#reconciler = new Reconciler(db, channels, this.#writer, log);
  }

  start(): void {
    this.bus.on('event', (e) => this.#onBus(e));
    this.#tick = setInterval(() => void this.#due(), this.#opts.tickMs);
    this.#tick.unref();
    this.#ping = setInterval(() => this.#pingAll(), this.#opts.pingMs);
    this.#ping.unref();
  }

  /** Check-ins (hello and facts) received since start, for /metrics. */
  checkins = 0;

  /** The devices with a channel here. */
  deviceIds(): string[] {
    return [...this.#conns.keys()];
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.#conns.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    if (this.#tick) clearInterval(this.#tick);
    if (this.#ping) clearInterval(this.#ping);
    const ids = [...this.#conns.keys()];
    for (const set of this.#conns.values())
      for (const c of set) c.socket.close(CLOSE.goingAway, 'server shutting down');
    this.#conns.clear();
    await this.#reconciler.close();
    await this.#writer.drain();
    await markDisconnected(this.db, ids, this.replicaId).catch((e: Error) =>
      this.log.error({ err: e }, 'marking devices disconnected at shutdown failed'),
    );
  }

  attach(socket: WebSocket, deviceId: string): void {
    const conn: Connection = {
      socket,
      deviceId,
      instanceId: null,
      facts: null,
      factsKey: '',
      sent: new Map(),
      reportable: new Set(),
      missed: 0,
    };
    const set = this.#conns.get(deviceId) ?? new Set();
    // One credential may not hold many channels (each would be sent every bundle): close the oldest.
    while (set.size >= this.#opts.maxConnectionsPerDevice) {
      const oldest = set.values().next().value as Connection;
      set.delete(oldest);
      oldest.socket.close(CLOSE.replaced, 'too many connections for this device');
    }
    set.add(conn);
    this.#conns.set(deviceId, set);
    socket.on('pong', () => {
      conn.missed = 0;
    });
    socket.on('message', (data, isBinary) => {
      conn.missed = 0;
      if (!this.#rate.take(deviceId)) {
        this.log.warn({ deviceId }, 'device over its message rate: disconnected');
        socket.close(CLOSE.policy, 'message rate limit');
        return;
      }
      const checked = isBinary
        ? { ok: false as const, error: 'binary frames are not accepted' }
        : checkAgentMessage(String(data));
      if (!checked.ok)
        return this.#send(conn, { type: 'error', code: 'E_VALIDATION', message: checked.error });
      this.#onMessage(conn, checked.value).catch((e: Error) =>
        this.log.error({ err: e, deviceId }, 'device message failed'),
      );
    });
    socket.on('close', () => {
      set.delete(conn);
      if (set.size === 0 && this.#conns.get(deviceId) === set) {
        this.#conns.delete(deviceId);
        this.#rate.delete(deviceId);
        void this.#writer.disconnected(deviceId);
      }
    });
    socket.on('error', (e) => this.log.info({ deviceId, err: e.message }, 'device channel error'));
  }

  reconcileAll(): void {
    this.#reconciler.request(this.#conns.keys());
  }

  // ---------------------------------------------------------------- events

  #onBus(e: BusEvent): void {
    if (e.kind === 'retry') {
      // The deploy was sent on these connections and failed: forget that, so the reconcile sends it again.
      const here = e.devices.filter((d) => this.#conns.has(d));
      for (const d of here) for (const c of this.#conns.get(d) ?? []) c.sent.delete(e.id);
      this.#reconciler.request(here);
      return;
    }
    if (e.kind === 'policy' || e.kind === 'device') this.#reconciler.forgetPolicies();
    if (e.kind === 'deployment' || e.kind === 'policy') this.reconcileAll();
    else if (e.kind === 'device' && this.#conns.has(e.id)) this.#reconciler.request([e.id]);
  }

  /** Scheduler tick: devices here whose ring deferral has just come due. */
  async #due(): Promise<void> {
    if (this.#conns.size === 0) return;
    try {
      this.#reconciler.request((await dueDevices(this.db)).filter((id) => this.#conns.has(id)));
    } catch (e) {
      this.log.error({ err: e }, 'scheduler tick failed');
    }
    this.#errors.sweep();
  }

  /** Half-open connections (the peer vanished without a FIN) answer no ping: drop them (fleet/ping.ts). */
  #pingAll(): void {
    const now = performance.now();
    const previous = this.#lastPingRound;
    const stalled = stalledRound(previous, now, this.#opts.pingMs);
    this.#lastPingRound = now;
    let dropped = 0;
    for (const set of this.#conns.values())
      for (const c of set) {
        if (pingDecision(c.missed, stalled) === 'drop') {
          c.socket.terminate();
          dropped++;
          continue;
        }
        if (!stalled) c.missed++;
        c.socket.ping();
      }
    if (dropped > 0) this.log.warn({ dropped }, 'connections that answered no ping: dropped');
    if (stalled)
      this.log.warn(
        { sincePreviousMs: Math.round(now - (previous ?? now)) },
        'ping round late (busy): no channel judged',
      );
  }

  #send(conn: Connection, msg: ServerMessage): boolean {
    if (conn.socket.readyState !== conn.socket.OPEN) return false;
    if (conn.socket.bufferedAmount > this.#opts.maxBufferedBytes) {
      this.log.warn(
        { deviceId: conn.deviceId },
        'slow consumer: dropped (it gets what it missed on reconnect)',
      );
      conn.socket.terminate();
      return false;
    }
    conn.socket.send(this.#encode(msg), { binary: false });
    return true;
  }

  /**
   * A deploy carries the whole bundle (base64) and is the same for every device of a deployment:
   * it is serialized and encoded once and the one buffer is written to every socket (server frames
   * are not masked), instead of a JSON.stringify and a UTF-8 copy per device.
   */
  #encode(msg: ServerMessage): Buffer | string {
    if (msg.type !== 'deploy') return JSON.stringify(msg);
    // Every field but the bundle, which the patch id names (bundles are immutable once published).
    const key = JSON.stringify({ ...msg, bundle: msg.bundle.length });
    let buf = this.#encoded.get(key);
    if (!buf) {
      buf = Buffer.from(JSON.stringify(msg));
      if (this.#encoded.size >= 16) this.#encoded.clear(); // a few deployments at a time, in practice
      this.#encoded.set(key, buf);
    }
    return buf;
  }

  #push(conn: Connection, msg: Extract<ServerMessage, { type: 'deploy' | 'revert' }>): boolean {
    if (!this.#send(conn, msg)) return false;
    conn.sent.set(msg.deploymentId, msg.type);
    conn.reportable.add(msg.deploymentId);
    return true;
  }

  #refuse(deviceId: string, why: 'revoked' | 'unknown'): void {
    for (const c of this.#conns.get(deviceId) ?? []) {
      if (why === 'revoked') {
        this.#send(c, { type: 'revoked' });
        c.socket.close(CLOSE.revoked, 'device revoked');
      } else c.socket.close(CLOSE.unknown, 'device unknown (deleted): enroll again');
    }
  }

  // ---------------------------------------------------------------- device messages

  async #onMessage(conn: Connection, msg: AgentMessage): Promise<void> {
    if (msg.type === 'hello' || msg.type === 'facts') {
      this.checkins++;
      if (msg.type === 'hello' && msg.protocol !== PROTOCOL_VERSION)
        this.#send(conn, {
          type: 'error',
          code: 'E_PROTOCOL',
          message: `protocol ${msg.protocol} is not ${PROTOCOL_VERSION}; continuing with ${PROTOCOL_VERSION}`,
        });
      const facts = Value.Clean(Facts, msg.facts) as StoredFacts;
      conn.facts = facts;
      const factsKey = JSON.stringify([
        facts.packages.map((p) => [p.name, p.version]),
        facts.patches.map((p) => [p.patchId, p.state]),
      ]);
      const changed = factsKey !== conn.factsKey;
      conn.factsKey = factsKey;
      void this.#writer.facts(conn.deviceId, facts);
      if (msg.type === 'hello' || conn.instanceId === null) {
        conn.instanceId = await this.#writer.instance({
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
        this.#reconciler.request([conn.deviceId]);
      } else if (changed) this.#reconciler.request([conn.deviceId]);
      return;
    }
    if (msg.type === 'state') {
      if (!(await this.#mayReport(conn, msg.deploymentId)))
        return this.#notPlanned(conn, `deployment ${msg.deploymentId} was not sent to this device`);
      const reason = msg.error ? `${msg.error.code}: ${msg.error.message}` : (msg.reason ?? null);
      await this.#writer.row({
        deploymentId: msg.deploymentId,
        deviceId: conn.deviceId,
        patchId: msg.patchId,
        state: msg.state,
        ring: null,
        reason,
        action: msg.state === 'failed' ? 'see the error; the device keeps running its current code' : null,
        scheduledFor: null,
        instanceId: conn.instanceId,
        sent: false,
      });
      return;
    }
    if (msg.type === 'health') {
      if (!(await this.#mayReport(conn, msg.deploymentId)))
        return this.#notPlanned(conn, `deployment ${msg.deploymentId} was not sent to this device`);
      // Rows the writer has not flushed yet (the device's applied state) must be there first.
      await this.#writer.drain();
      const r = await this.db.transaction((tx) =>
        recordHealth(tx, {
          deploymentId: msg.deploymentId,
          deviceId: conn.deviceId,
          before: msg.before,
          after: msg.after,
        }),
      );
      // Any verdict may open or close a ring: every replica reconciles its devices.
      if (r.verdict) this.#writer.reverted(msg.deploymentId);
      return;
    }
    if (msg.type === 'errors') {
      const count = this.#errors.take(conn.deviceId, msg.count);
      if (count === 0) return;
      const { deps, reverted } = await this.db.transaction(async (tx) => {
        const deps = await addErrors(tx, conn.deviceId, msg.patchId, count);
        const reverted = [];
        for (const d of deps) if (await checkRollback(tx, d)) reverted.push(d);
        return { deps, reverted };
      });
      if (deps.length === 0)
        return this.#notPlanned(conn, `no deployment of ${msg.patchId} was sent to this device`);
      for (const d of deps) this.#writer.changed(d);
      for (const d of reverted) this.#writer.reverted(d);
    }
  }

  /** Reports are accepted only for deployments the server sent to this device (here or on another replica). */
  async #mayReport(conn: Connection, deploymentId: string): Promise<boolean> {
    if (conn.reportable.has(deploymentId)) return true;
    if (!(await this.#sent.add({ deploymentId, deviceId: conn.deviceId }))) return false;
    conn.reportable.add(deploymentId);
    return true;
  }

  #notPlanned(conn: Connection, message: string): void {
    this.log.warn({ deviceId: conn.deviceId }, message);
    this.#send(conn, { type: 'error', code: 'E_NOT_PLANNED', message });
  }
}
