/**
 * Whether the fleet view's `connected` is true: each replica writes a heartbeat row; devices held
 * by a replica whose heartbeat expired (killed, partitioned) are marked disconnected by any other
 * replica. With embedded storage there is one replica, so at its start nothing is connected.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import { disconnectAll, expireReplicas, removeReplica, replicaHeartbeat } from '../store.js';

export class Liveness {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly replicaId: string,
    private readonly log: FastifyBaseLogger,
    /** Heartbeat period; a replica is dead after three missed heartbeats. */
    private readonly heartbeatMs: number,
  ) {}

  async start(): Promise<void> {
    if (this.db.kind === 'pglite') await disconnectAll(this.db);
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), this.heartbeatMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    try {
      await replicaHeartbeat(this.db, this.replicaId);
      const n = await expireReplicas(this.db, this.heartbeatMs * 3);
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
