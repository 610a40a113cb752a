import pg from 'pg';
import { retryTransient } from './retry.js';
import type { Database, Row, Sql } from './types.js';

/**
 * PostgreSQL through a pool. `schema` (optional) isolates a tenant or a test run; the NOTIFY
 * channel is per schema so that replicas of one deployment hear each other and nobody else.
 */
export async function openPostgres(url: string, schema?: string, poolSize = 10): Promise<Database> {
  const options = schema ? `-c search_path=${schema}` : undefined;
  const pool = new pg.Pool({ connectionString: url, max: poolSize, ...(options ? { options } : {}) });
  pool.on('error', () => {}); // idle client errors surface on the next query
  const channel = `hotpatch_${(schema ?? 'public').replace(/[^a-z0-9_]/gi, '_')}`.toLowerCase();
  let listener: pg.Client | null = null;
  const handlers: Array<(p: string) => void> = [];
  const wrap = (c: { query: pg.Pool['query'] }): Sql => ({
    async query<T extends Row = Row>(text: string, params: readonly unknown[] = []) {
      const r = await c.query<T>(text, params as unknown[]);
      return r.rows;
    },
  });
  // One connection runs one statement at a time: callers may issue a transaction's statements
  // together (Promise.all), so they are queued here in call order (pg queues them itself today but
  // deprecates it, and will refuse them in pg 9).
  const serial = (c: pg.PoolClient): Sql => {
    let tail: Promise<unknown> = Promise.resolve();
    return {
      query<T extends Row = Row>(text: string, params: readonly unknown[] = []) {
        const run = tail.then(() => c.query<T>(text, params as unknown[]));
        tail = run.catch(() => {});
        return run.then((r) => r.rows);
      },
    };
  };
  const inTransaction = async <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(serial(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  };
  // A statement outside a transaction is its own transaction: aborted by a deadlock, it changed
  // nothing and is run again, as a whole transaction is (db/retry.ts).
  const retrying = (sql: Sql): Sql => ({
    query: (text, params) => retryTransient(() => sql.query(text, params)),
  });
  const base = retrying(wrap(pool));
  const priorityPool = new pg.Pool({ connectionString: url, max: 1, ...(options ? { options } : {}) });
  priorityPool.on('error', () => {});
  const priority = retrying(wrap(priorityPool));
  await pool.query('SELECT 1');
  return {
    kind: 'postgres',
    query: base.query,
    priority,
    async exec(text) {
      await pool.query(text);
    },
    transaction: (fn) => retryTransient(() => inTransaction(fn)),
    async listen(fn) {
      handlers.push(fn);
      if (listener) return;
      listener = new pg.Client({ connectionString: url, ...(options ? { options } : {}) });
      listener.on('error', () => {});
      listener.on('notification', (n) => {
        for (const h of handlers) h(n.payload ?? '');
      });
      await listener.connect();
      await listener.query(`LISTEN ${channel}`);
    },
    async notify(payload, tx) {
      await (tx ?? base).query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      if (listener) await listener.end().catch(() => {});
      await Promise.all([pool.end(), priorityPool.end()]);
    },
  };
}
