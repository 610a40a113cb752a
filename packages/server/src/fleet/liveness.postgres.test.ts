/**
 * Replica liveness on PostgreSQL: a replica whose heartbeat stops has its devices marked
 * disconnected by another; one whose heartbeat was only late (its event loop or pool busy) marks
 * the devices it still holds connected again at its next beat.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { migrate } from '../db/migrate.js';
import { openPostgres } from '../db/postgres.js';
import type { Database } from '../db/types.js';
import { Liveness } from './liveness.js';

const url = process.env.HOTPATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `hp_liveness_${randomBytes(5).toString('hex')}`;
const log = pino({ level: 'silent' });
let admin: Database;
let db: Database;

before(async () => {
  admin = await openPostgres(url);
  await admin.exec(`CREATE SCHEMA ${schema}`);
  db = await openPostgres(url, schema, 4);
  await migrate(db);
});

after(async () => {
  await db?.close();
  await admin?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin?.close();
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
