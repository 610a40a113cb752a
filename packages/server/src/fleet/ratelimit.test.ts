import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBuckets, WindowBudget } from './ratelimit.js';
import { rollbackVerdict } from './rollback.js';

test('token buckets: a burst up to capacity, then the refill rate', () => {
  let now = 0;
  const b = new TokenBuckets(3, 2, () => now);
  assert.deepEqual([b.take('d'), b.take('d'), b.take('d'), b.take('d')], [true, true, true, false]);
  assert.equal(b.take('other'), true, 'keys are independent');
  now += 500;
  assert.deepEqual([b.take('d'), b.take('d')], [true, false]);
});

test('window budget: at most max units per window', () => {
  let now = 0;
  const w = new WindowBudget(10, 60_000, () => now);
  assert.equal(w.take('d', 1_000_000), 10);
  assert.equal(w.take('d', 1), 0);
  now += 60_000;
  assert.equal(w.take('d', 3), 3);
});

test("rollback counts distinct failed devices and caps each device's errors", () => {
  const dev = (id: string, state: string, errors = 0) => ({
    deviceId: id,
    device: id,
    state,
    reason: null,
    errors,
  });
  assert.equal(rollbackVerdict({ maxFailures: 2 }, [dev('a', 'failed')]), null);
  assert.match(
    rollbackVerdict({ maxFailures: 2 }, [dev('a', 'failed'), dev('b', 'failed')]) ?? '',
    /2 devices failed/,
  );
  assert.equal(rollbackVerdict({ maxErrors: 100 }, [dev('a', 'applied', 1_000_000)]), null);
  const many = Array.from({ length: 10 }, (_, i) => dev(`d${i}`, 'applied', 50));
  assert.match(rollbackVerdict({ maxErrors: 100 }, many) ?? '', /100 errors .* on 10 devices/);
});
