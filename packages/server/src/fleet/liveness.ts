/**
 * Whether the fleet view's `connected` is true: each replica writes a heartbeat row; devices held
 * by a replica whose heartbeat expired (killed, partitioned) are marked disconnected by any other
 * replica. With embedded storage there is one replica, so at its start nothing is connected.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import {
  disconnectAll,
  expireReplicas,
  reassertConnected,
  removeReplica,
  replicaHeartbeat,
  tryLock,
} from '../store.js';

export class Liveness {
  #timer: NodeJS.Timeout | null = null;
  /** When the last heartbeat was written (monotonic ms). */
  #lastBeat = 0;

  constructor(
    private readonly db: Database,
    private readonly replicaId: string,
    private readonly log: FastifyBaseLogger,
    /** Heartbeat period; a replica is dead after three missed heartbeats. */
    private readonly heartbeatMs: number,
    /** The devices whose channels this replica holds. */
    private readonly held: () => readonly string[] = () => [],
  ) {}

  get expiryMs(): number {
    return this.heartbeatMs * 3;
  }

  async start(): Promise<void> {
    if (this.db.kind === 'pglite') await disconnectAll(this.db);
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.#timer.unref();
  }

  /** One heartbeat (start() runs one every heartbeatMs); never throws. */
  async beat(): Promise<void> {
    try {
      // On a connection of its own: behind a busy pool it would be late, and this replica expired.
      await replicaHeartbeat(this.db.priority, this.replicaId);
      const now = performance.now();
      const late = this.#lastBeat > 0 && now - this.#lastBeat > this.expiryMs;
      this.#lastBeat = now;
      if (late) {
        // Others may have taken this replica for dead and marked its devices disconnected.
        const n = await reassertConnected(this.db, this.held(), this.replicaId);
        this.log.warn({ devices: n }, 'heartbeat was late: devices held here marked connected again');
      }
      // Every process of every replica beats; one at a time expires (all did the same scan and
      // locked the same rows at once: 14 of them, 15 s each, at 100,000 devices).
      const n = await this.db.transaction(async (tx) =>
        (await tryLock(tx, 'replicaExpiry')) ? expireReplicas(tx, this.expiryMs) : 0,
      );
      if (n > 0) this.log.info({ devices: n }, 'devices of an expired replica marked disconnected');
    } catch (e) {
      this.log.error({ err: e }, 'replica heartbeat failed');
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await removeReplica(this.db, this.replicaId).catch((e: Error) =>
      this.log.error({ err: e }, 'removing the replica row failed'),
    );
  }
}
