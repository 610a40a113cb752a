/**
 * Replica liveness on PostgreSQL: a replica whose heartbeat stops has its devices marked
 * disconnected by another; one whose heartbeat was only late (its event loop or pool busy) marks
 * the devices it still holds connected again at its next beat.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { openDatabase } from '../db/open.js';
import type { Database } from '../db/types.js';
import { dropSchema, freshSchema, TEST_DATABASE_URL } from '../test/test-server.js';
import { Liveness } from './liveness.js';

const schema = freshSchema('hp_liveness');
const log = pino({ level: 'silent' });
let db: Database;

before(async () => {
  db = await openDatabase({
    dataDir: '',
    databaseUrl: TEST_DATABASE_URL,
    databaseSchema: schema,
    databasePoolSize: 4,
  });
});

after(async () => {
  await db?.close();
  await dropSchema(schema);
});

const connectedOf = async (id: string) =>
  (await db.query<{ connected: boolean }>('SELECT connected FROM devices WHERE id = $1', [id]))[0]?.connected;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  '[postgres] a late heartbeat: another replica expires the devices, the late one marks those it holds connected again',
  { timeout: 30_000 },
  async () => {
    const beatMs = 100; // expiry: three beats
    // Driven by hand (no timers): A beats, then stalls for four beats while B goes on.
    const a = new Liveness(db, 'rep_a', log as never, beatMs, () => ['dev_a']);
    const b = new Liveness(db, 'rep_b', log as never, beatMs, () => ['dev_b']);
    await a.beat();
    await b.beat();
    await db.query(
      `INSERT INTO devices (id, host, service, connected, replica_id) VALUES
       ('dev_a', 'h', 'a', true, 'rep_a'), ('dev_gone', 'h', 'gone', true, 'rep_a'), ('dev_b', 'h', 'b', true, 'rep_b')`,
    );
    assert.equal(await connectedOf('dev_a'), true);
    for (let i = 0; i < 4; i++) {
      await sleep(beatMs);
      await b.beat();
    }
    assert.equal(await connectedOf('dev_a'), false, 'B took A for dead');
    assert.equal(await connectedOf('dev_gone'), false);
    assert.equal(await connectedOf('dev_b'), true, 'B keeps its own');
    await a.beat();
    assert.equal(await connectedOf('dev_a'), true, 'A, alive after all, holds dev_a: connected again');
    assert.equal(await connectedOf('dev_gone'), false, 'a device A no longer holds stays disconnected');
    await b.beat();
    assert.equal(await connectedOf('dev_a'), true, 'and B no longer expires it');
  },
);
