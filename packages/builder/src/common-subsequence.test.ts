import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonSubsequence } from './common-subsequence.js';

/** Length of a longest common subsequence, by the textbook dynamic programme. */
function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

test('commonSubsequence: hand-made cases', () => {
  assert.deepEqual(commonSubsequence([], [], 10), []);
  assert.deepEqual(commonSubsequence(['a'], [], 10), []);
  assert.deepEqual(commonSubsequence(['a', 'b', 'c'], ['a', 'x', 'c'], 10), [
    [0, 0],
    [2, 2],
  ]);
  assert.deepEqual(commonSubsequence(['x', 'a', 'b'], ['a', 'b', 'y'], 10), [
    [1, 0],
    [2, 1],
  ]);
});

test('commonSubsequence: longest, in order, equal items, on random sequences', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const a = Array.from({ length: next() % 30 }, () => 'abcd'[next() % 4]!);
    const b = Array.from({ length: next() % 30 }, () => 'abcd'[next() % 4]!);
    const pairs = commonSubsequence(a, b, 100)!;
    assert.equal(pairs.length, lcsLength(a, b), `${a.join('')} / ${b.join('')}`);
    for (const [k, [i, j]] of pairs.entries()) {
      assert.equal(a[i], b[j]);
      if (k > 0) assert.ok(i > pairs[k - 1]![0] && j > pairs[k - 1]![1]);
    }
  }
});

test('commonSubsequence: null past the edit budget', () => {
  assert.equal(commonSubsequence(['a', 'b', 'c', 'd'], ['w', 'x', 'y', 'z'], 7), null);
  assert.equal(commonSubsequence(['a', 'b', 'c', 'd'], ['w', 'x', 'y', 'z'], 8)!.length, 0);
});
