import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dependenciesFirst } from './file-order.js';

const order = (paths: string[], graph: Record<string, string[]>) =>
  dependenciesFirst(
    paths.map((path) => ({ path })),
    (f) => graph[f] ?? [],
  ).map((x) => x.path);

describe('bundle file order: a file after the patched files it may load', () => {
  const cases: Array<[string, string[], Record<string, string[]>, string[]]> = [
    [
      'through a file that is not patched (semver 7.8.6: range.js → a new file → constants.js)',
      ['classes/range.js', 'internal/constants.js'],
      {
        'classes/range.js': ['internal/trim.js', 'classes/semver.js'],
        'internal/trim.js': ['internal/constants.js'],
      },
      ['internal/constants.js', 'classes/range.js'],
    ],
    ['unrelated files keep their order', ['b.js', 'a.js'], {}, ['b.js', 'a.js']],
    ['a cycle keeps its order', ['a.js', 'b.js'], { 'a.js': ['b.js'], 'b.js': ['a.js'] }, ['a.js', 'b.js']],
    [
      'a chain, listed backwards',
      ['a.js', 'b.js', 'c.js'],
      { 'a.js': ['b.js'], 'b.js': ['c.js'] },
      ['c.js', 'b.js', 'a.js'],
    ],
    [
      'a cycle that loads a third file: the third first, the cycle in its order',
      ['a.js', 'b.js', 'c.js'],
      { 'a.js': ['b.js'], 'b.js': ['a.js', 'c.js'] },
      ['c.js', 'a.js', 'b.js'],
    ],
  ];
  for (const [name, paths, graph, want] of cases)
    test(name, () => assert.deepEqual(order(paths, graph), want));
});
