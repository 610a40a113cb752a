import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTransient, retryTransient } from './retry.js';

const fail = (code: string) => Object.assign(new Error(code), { code });
const noWait = { attempts: 3, baseDelayMs: 10, random: () => 0.5, sleep: async () => {} };

test('isTransient: deadlock and serialization failures only', () => {
  for (const [e, want] of [
    [fail('40P01'), true],
    [fail('40001'), true],
    [fail('23505'), false],
    [new Error('x'), false],
    [null, false],
    ['40P01', false],
  ] as const)
    assert.equal(isTransient(e), want, String(e));
});

test('retryTransient: runs again after a transient failure, with doubling waits', async () => {
  const waits: number[] = [];
  let runs = 0;
  const out = await retryTransient(
    async () => {
      if (++runs < 3) throw fail('40P01');
      return 'ok';
    },
    { ...noWait, sleep: async (ms) => void waits.push(ms) },
  );
  assert.equal(out, 'ok');
  assert.equal(runs, 3);
  assert.deepEqual(waits, [10, 20]);
});

test('retryTransient: rethrows the last transient failure after the attempts, and others at once', async () => {
  let runs = 0;
  await assert.rejects(
    retryTransient(async () => {
      runs++;
      throw fail('40001');
    }, noWait),
    { code: '40001' },
  );
  assert.equal(runs, 3);
  runs = 0;
  await assert.rejects(
    retryTransient(async () => {
      runs++;
      throw fail('23505');
    }, noWait),
    { code: '23505' },
  );
  assert.equal(runs, 1);
});
