import { EventEmitter } from 'node:events';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Row, Sql } from './types.js';

/** Embedded PostgreSQL (PGlite) under a data directory. Single process: notifications stay in it. */
export async function openPglite(dataDir: string): Promise<Database> {
  const db = await PGlite.create(dataDir);
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const wrap = (q: { query: PGlite['query'] }): Sql => ({
    async query<T extends Row = Row>(text: string, params: readonly unknown[] = []) {
      const r = await q.query<T>(text, params as unknown[]);
      return r.rows;
    },
  });
  const base = wrap(db);
  return {
    kind: 'pglite',
    query: base.query,
    priority: base, // one connection, one process: nothing to queue behind
    async exec(text) {
      await db.exec(text);
    },
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async listen(fn) {
      bus.on('message', fn);
    },
    async notify(payload) {
      // After the current tick, so that a transaction's notify follows its commit.
      setImmediate(() => bus.emit('message', payload));
    },
    async close() {
      bus.removeAllListeners();
      await db.close();
    },
  };
}
