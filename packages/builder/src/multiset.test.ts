import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedCount } from './multiset.js';

test('sharedCount: items in common, as multisets', () => {
  for (const [xs, ys, want] of [
    [[], [], 0],
    [['a'], [], 0],
    [['a', 'b'], ['b', 'a'], 2],
    [['a', 'a', 'b'], ['a', 'c'], 1], // 'a' twice on one side, once on the other: one shared
    [['a', 'a'], ['a', 'a', 'a'], 2],
  ] as const)
    assert.equal(sharedCount(xs, ys), want, `${xs} / ${ys}`);
});
