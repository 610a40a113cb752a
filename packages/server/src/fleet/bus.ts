import { EventEmitter } from 'node:events';
import type { BusEvent } from '@hotpatch/protocol';
import type { Database } from '../db/types.js';

/** Cross-replica events, carried by the database's NOTIFY (the protocol's: GET /v1/events sends them on). */
export type { BusEvent };

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
