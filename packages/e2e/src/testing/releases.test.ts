import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { publishedFormat } from '../oracle/inputs.js';
import { consecutivePairs } from './releases.js';

describe('consecutive releases for the oracle', () => {
  test('the last K+1 stable releases in version order, each paired with the next', () => {
    // The registry lists versions in publishing order: a backport (1.2.9) after 2.0.0, prereleases.
    const versions = ['1.2.7', '1.2.8', '2.0.0-beta.1', '2.0.0', '1.2.9', '2.0.1', '2.1.0-rc.0', '2.0.2'];
    const pairs = consecutivePairs('p', versions, 3);
    assert.deepEqual(
      pairs.map((a) => `${a.vulnerable}→${a.fixed}`),
      ['1.2.9→2.0.0', '2.0.0→2.0.1', '2.0.1→2.0.2'],
    );
    assert.ok(pairs.every((a) => a.origin === 'releases' && a.name === 'p'));
    assert.deepEqual(consecutivePairs('p', ['1.0.0'], 3), []);
  });

  const cases: Array<[string, { type?: string; exports?: unknown }, 'cjs' | 'esm' | 'dual']> = [
    ['no exports, CommonJS', {}, 'cjs'],
    ['type module, no exports', { type: 'module' }, 'esm'],
    [
      'import and require conditions',
      { exports: { '.': { import: './a.mjs', require: './a.cjs' } } },
      'dual',
    ],
    ['nested conditions', { exports: { '.': { node: { import: './a.mjs', default: './a.cjs' } } } }, 'dual'],
    [
      'type module with a require condition',
      { type: 'module', exports: { require: './a.cjs', default: './a.js' } },
      'dual',
    ],
    ['type module, import only', { type: 'module', exports: { '.': { import: './a.js' } } }, 'esm'],
    ['CommonJS with subpaths only', { exports: { '.': './a.js', './b': './b.js' } }, 'cjs'],
  ];
  for (const [name, pkg, want] of cases)
    test(`published format: ${name} → ${want}`, () => assert.equal(publishedFormat(pkg), want));
});
