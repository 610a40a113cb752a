import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeModule } from './analyze.js';
import { checkReplacement } from './check.js';
import { moduleTable } from './convention.js';

/**
 * Direct calls of another slot (builder diff/direct-calls.ts), table-driven: a replacement may
 * read `__hp$s` only as `(__hp$s?.[K] ?? fallback)`, K a function whose replacement takes its
 * parameters alone.
 */
const running =
  'function escape(html) { return String(html); }\n' +
  '(function (root) { var n = 0; function g(a) { n++; return a; } root.g = g; })(exports);\n' +
  'function attr(v) { return escape(v); }\nexports.attr = attr;\n';
const table = moduleTable(analyzeModule(running, { sourceType: 'commonjs' }));
const isGlobal = (name: string) => name in globalThis;
const indexOf = (key: string) => table.functions.findIndex((f) => f.key === key);
const attr = (source: string) =>
  checkReplacement(table, { key: 'attr', call: 'params', params: ['v'], source }, isGlobal);

const cases: Array<{ name: string; source: string; problem: RegExp | null }> = [
  {
    name: 'a direct call of a slot whose replacement takes its parameters alone',
    source: `(function (v) { return (__hp$s?.[${indexOf('escape')}] ?? escape)(v, true); })`,
    problem: null,
  },
  {
    name: 'a slot read without a fallback',
    source: `(function (v) { return __hp$s[${indexOf('escape')}](v, true); })`,
    problem: /other than as a direct call/,
  },
  {
    name: 'a slot index beyond the module',
    source: `(function (v) { return (__hp$s?.[${table.functions.length}] ?? escape)(v, true); })`,
    problem: /other than as a direct call/,
  },
  {
    name: 'a slot whose replacement also takes a scope accessor',
    source: `(function (v) { return (__hp$s?.[${indexOf('<iife>/g')}] ?? escape)(v, true); })`,
    problem: /does not take its parameters alone/,
  },
  {
    name: 'the slots array itself handed out',
    source: '(function (v) { return __hp$s; })',
    problem: /other than as a direct call/,
  },
];

describe('checkReplacement: direct calls of slots', () => {
  it('finds the functions of the table', () => {
    assert.ok(
      indexOf('escape') >= 0 && indexOf('<iife>/g') >= 0,
      JSON.stringify(table.functions.map((f) => f.key)),
    );
  });
  for (const c of cases)
    it(c.name, () => {
      const problem = attr(c.source);
      if (c.problem === null) assert.equal(problem, null);
      else assert.match(problem ?? '', c.problem);
    });
});
