/**
 * A real deadlock on PostgreSQL: two transactions lock two rows in opposite orders; the server
 * aborts one (40P01). The adapter runs it again, so both land and nothing is written twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dropSchema, freshSchema, TEST_DATABASE_URL } from '../test/test-server.js';
import { openDatabase } from './open.js';
import type { Database } from './types.js';

const schema = freshSchema('hp_retry');
let db: Database;

before(async () => {
  db = await openDatabase({
    dataDir: '',
    databaseUrl: TEST_DATABASE_URL,
    databaseSchema: schema,
    databasePoolSize: 4,
  });
  await db.exec('CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL)');
  await db.exec('INSERT INTO t VALUES (1, 0), (2, 0)');
});

after(async () => {
  await db?.close();
  await dropSchema(schema);
});

test(
  '[postgres] a transaction aborted by a deadlock runs again; both transactions land once',
  { timeout: 30_000 },
  async () => {
    let runs = 0;
    const firstLocks: Array<() => void> = [];
    const bothLocked = new Promise<void>((resolve) => {
      let n = 0;
      for (let i = 0; i < 2; i++) firstLocks.push(() => ++n === 2 && resolve());
    });
    const crossing = (first: number, second: number, i: number) =>
      db.transaction(async (tx) => {
        runs++;
        await tx.query('UPDATE t SET v = v + 1 WHERE id = $1', [first]);
        // Only the first run of each waits for the other: the retry must be free to go.
        const signal = firstLocks[i];
        if (signal) {
          firstLocks[i] = undefined as unknown as () => void;
          signal();
          await bothLocked;
        }
        await tx.query('UPDATE t SET v = v + 1 WHERE id = $1', [second]);
        return i;
      });
    const out = await Promise.allSettled([crossing(1, 2, 0), crossing(2, 1, 1)]);
    assert.deepEqual(
      out.map((o) => o.status),
      ['fulfilled', 'fulfilled'],
      JSON.stringify(out.map((o) => (o.status === 'rejected' ? String(o.reason) : o.value))),
    );
    assert.equal(runs, 3, 'one of the two ran again');
    assert.deepEqual(await db.query('SELECT id, v FROM t ORDER BY id'), [
      { id: 1, v: 2 },
      { id: 2, v: 2 },
    ]);
  },
);

test('[postgres] statements issued together in a transaction run one at a time, in call order, with no warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const order = await db.transaction(async (tx) => {
      const [a, b, c] = await Promise.all([
        tx.query('UPDATE t SET v = 10 WHERE id = 1 RETURNING v'),
        tx.query('UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v'),
        tx.query('SELECT v FROM t WHERE id = 1'),
      ]);
      return [a[0]?.v, b[0]?.v, c[0]?.v];
    });
    assert.deepEqual(order, [10, 11, 11]);
    // A failing statement fails its caller only; the ones after it are still sent (and fail with
    // the aborted transaction, which then rolls back as a whole).
    await assert.rejects(
      db.transaction(async (tx) => {
        const results = await Promise.allSettled([tx.query('SELECT 1/0'), tx.query('SELECT 1 AS one')]);
        assert.equal(results[0].status, 'rejected');
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});
