/**
 * The writer's overlay and what left it: a reconcile that read rows before a write landed must
 * know, since the overlay no longer shows that write (fleet/reconcile.ts skips such pairs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Database, Sql } from '../db/types.js';
import type { Bus } from './bus.js';
import { Writer } from './writer.js';

/** Storage that accepts every statement and changes nothing (the writer's SQL is tested on PGlite and PostgreSQL). */
function acceptingDb(): Database {
  const sql: Sql = { query: async () => [] };
  return {
    kind: 'pglite',
    ...sql,
    priority: sql,
    exec: async () => {},
    transaction: (fn) => fn(sql),
    listen: async () => {},
    notify: async () => {},
    close: async () => {},
  };
}

const bus = { publish: async () => {}, on: () => {} } as unknown as Bus;
const write = (state: 'applying' | 'applied') => ({
  deploymentId: 'dep_1',
  deviceId: 'dev_1',
  patchId: null,
  state,
  ring: null,
  reason: null,
  action: null,
  scheduledFor: null,
  instanceId: 1,
  sent: true,
});

test('Writer: a write that left the overlay after a mark is reported landed since that mark, and forgotten after', async () => {
  const w = new Writer(acceptingDb(), bus, pino({ level: 'silent' }), 'rep_1');
  const before = w.rowFlushes;
  const queued = w.row(write('applied'));
  assert.equal(w.pending('dep_1', 'dev_1')?.state, 'applied', 'queued: in the overlay');
  assert.equal(w.landedSince('dep_1', 'dev_1', before), false, 'not landed yet');
  assert.equal(await queued, true);
  assert.equal(w.pending('dep_1', 'dev_1'), undefined, 'landed: out of the overlay');
  assert.equal(w.landedSince('dep_1', 'dev_1', before), true, 'a read begun before it may not hold it');
  const after = w.rowFlushes;
  assert.equal(w.landedSince('dep_1', 'dev_1', after), false, 'a read begun after it holds it');
  assert.equal(w.landedSince('dep_1', 'dev_2', before), false, 'another pair');
  w.forgetLandedBefore(after);
  assert.equal(w.landedSince('dep_1', 'dev_1', before), false, 'forgotten');
});

test('Writer: a state lands without waiting for its device to be marked stale (devices rows may be locked by others)', async () => {
  let release = () => {};
  const locked = new Promise<void>((r) => {
    release = r;
  });
  const marks: unknown[] = [];
  const sql = {
    query: async (text: string, params: readonly unknown[] = []) => {
      if (/INSERT INTO deployment_devices/.test(text))
        return [{ deployment_id: 'dep_1', device_id: 'dev_1', state: 'applied', reason: null }];
      if (/status_dirty/.test(text)) {
        await locked; // another transaction holds the device's row
        marks.push(params[0]);
      }
      return [];
    },
  } as unknown as Sql;
  const db = {
    ...acceptingDb(),
    ...sql,
    priority: sql,
    transaction: <T>(fn: (tx: Sql) => Promise<T>) => fn(sql),
  };
  const w = new Writer(db, bus, pino({ level: 'silent' }), 'rep_1');
  const landed = await Promise.race([
    w.row(write('applied')),
    new Promise<string>((r) => setTimeout(() => r('waited for the stale mark'), 2000)),
  ]);
  assert.equal(landed, true);
  assert.deepEqual(marks, [], 'the stale mark is still waiting');
  release();
  await w.drain();
  assert.equal(marks.length, 1, 'then it is written');
  assert.match(JSON.stringify(marks[0]), /dev_1/);
});
