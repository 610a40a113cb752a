import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from './batcher.js';

test('a bad item fails alone: the batch is split until it is found and the others land', async () => {
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

test('a failed batch is split in halves, not retried item by item: one bad item in 1,024 costs ~20 statements', async () => {
  let calls = 0;
  const splits: number[] = [];
  const b = new Batcher<number, number>(
    async (items) => {
      calls++;
      if (items.includes(700)) throw new Error('invalid input');
      return items;
    },
    5,
    2000,
    () => {},
    (size) => splits.push(size),
  );
  const results = await Promise.allSettled(Array.from({ length: 1024 }, (_, i) => b.add(i)));
  assert.deepEqual(
    results.flatMap((r, i) => (r.status === 'rejected' ? [i] : [])),
    [700],
  );
  assert.ok(results.every((r, i) => r.status === 'rejected' || r.value === i));
  // 1 + 2 per level below the top (log2 1024 = 10): 21. Item by item it was 1 + 1,024.
  assert.equal(calls, 21);
  assert.equal(splits[0], 1024);
});

test('a batch that failed for a passing reason (a deadlock) lands whole on the retry of its halves', async () => {
  let failures = 1;
  const landed: number[] = [];
  const b = new Batcher<number, null>(async (items) => {
    if (failures-- > 0) throw new Error('deadlock detected');
    landed.push(...items);
    return items.map(() => null);
  }, 5);
  await Promise.all([1, 2, 3, 4, 5].map((i) => b.add(i)));
  assert.deepEqual(landed, [1, 2, 3, 4, 5]);
});

test('items added while a flush runs go together in the next call (group commit), within maxItems', async () => {
  const calls: number[][] = [];
  let release: () => void = () => {};
  const slow = new Promise<void>((r) => {
    release = r;
  });
  const b = new Batcher<number, null>(
    async (items) => {
      calls.push(items);
      if (calls.length === 1) await slow;
      return items.map(() => null);
    },
    1,
    4,
  );
  const first = b.add(0);
  await new Promise((r) => setTimeout(r, 20)); // the first flush is running, held
  const rest = [1, 2, 3, 4, 5, 6].map((i) => b.add(i));
  await new Promise((r) => setTimeout(r, 20)); // several timer periods pass while it runs
  assert.equal(calls.length, 1, 'nothing else is sent while the first flush runs');
  release();
  await Promise.all([first, ...rest]);
  await b.drain();
  assert.deepEqual(calls, [[0], [1, 2, 3, 4], [5, 6]]);
});
