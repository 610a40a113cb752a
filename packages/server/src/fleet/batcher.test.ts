import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from './batcher.js';

test('a bad item fails alone: the batch is retried item by item and the others land', async () => {
  const landed: string[] = [];
  const b = new Batcher<string, string>(async (items) => {
    if (items.includes('bad')) throw new Error('invalid byte sequence');
    landed.push(...items);
    return items.map((i) => `ok:${i}`);
  }, 5);
  const results = await Promise.allSettled([b.add('a'), b.add('bad'), b.add('c')]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ['ok:a', 'invalid byte sequence', 'ok:c'],
  );
  assert.deepEqual(landed.sort(), ['a', 'c']);
});

test('writes still land in order, one flush at a time', async () => {
  const seen: number[][] = [];
  const b = new Batcher<number, null>(
    async (items) => {
      seen.push(items);
      return items.map(() => null);
    },
    1,
    3,
  );
  await Promise.all([1, 2, 3, 4, 5].map((i) => b.add(i)));
  assert.deepEqual(seen.flat(), [1, 2, 3, 4, 5]);
});

test('drain with items waiting for the timer flushes them (it used to spin without ever letting the timer fire)', async () => {
  const landed: number[] = [];
  const b = new Batcher<number, null>(async (items) => {
    landed.push(...items);
    return items.map(() => null);
  }, 60_000);
  void b.add(1);
  void b.add(2);
  const drained = b.drain().then(() => 'drained');
  const outcome = await Promise.race([drained, new Promise((r) => setTimeout(() => r('stuck'), 2000))]);
  assert.equal(outcome, 'drained');
  assert.deepEqual(landed, [1, 2]);
});
