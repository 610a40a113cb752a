import { EventEmitter } from 'node:events';
import type { Database } from '../db/types.js';

/** Cross-replica events, carried by the database's NOTIFY. */
export type BusEvent =
  | { kind: 'deployment'; id: string } // created, reverted, expedited: reconcile connected devices
  | { kind: 'policy'; id: string } // paused, resumed, changed
  | { kind: 'device'; id: string } // revoked, relabelled, moved
  | { kind: 'state'; deploymentId: string } // a device's state changed (for waiters)
  | { kind: 'retry'; id: string; devices: string[] }; // failed devices of a deployment are to be sent it again

export class Bus extends EventEmitter<{ event: [BusEvent] }> {
  constructor(private readonly db: Database) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.db.listen((payload) => {
      try {
        this.emit('event', JSON.parse(payload) as BusEvent);
      } catch {
        // not ours
      }
    });
  }

  publish(e: BusEvent): Promise<void> {
    return this.db.notify(JSON.stringify(e));
  }
}
