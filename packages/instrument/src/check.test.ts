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

/**
 * Private accessors (convention 5), table-driven: every call of one names, as a string literal, a
 * private name the running class declares, and only accessors the guard passes are called.
 */
const privateTable = moduleTable(
  analyzeModule('class C { #n = 0; #m() { return 1; } get(o) { return this.#n; } }\nmodule.exports = C;\n', {
    sourceType: 'commonjs',
  }),
);
const privateGet = (source: string, params = ['__hp$p0', 'o']) =>
  checkReplacement(privateTable, { key: 'C#get', call: 'params', params, source }, isGlobal);

const privateCases: Array<{ name: string; source: string; params?: string[]; problem: RegExp | null }> = [
  {
    name: 'names the running class declares',
    source: '(function (__hp$p0, o) { return __hp$p0("n", this) + __hp$p0("m", this, [], 7); })',
    problem: null,
  },
  {
    name: 'a name the running class does not declare',
    source: '(function (__hp$p0, o) { return __hp$p0("x", this); })',
    problem: /needs #x, which C does not declare/,
  },
  {
    name: 'a name that is not a string literal',
    source: '(function (__hp$p0, o) { return __hp$p0(o, this); })',
    problem: /not a string literal/,
  },
  {
    name: 'an accessor the guard does not pass',
    source: '(function (__hp$p0, __hp$p1, o) { return __hp$p1("n", this); })',
    params: ['__hp$p0', '__hp$p1', 'o'],
    problem: /uses __hp\$p1, which the guard does not pass/,
  },
  {
    name: 'an accessor it does not take',
    source: '(function (o) { return __hp$p0("n", this); })',
    params: ['o'],
    problem: /the guard passes \(__hp\$p0, o\)/,
  },
];

describe('checkReplacement: private accessors', () => {
  for (const c of privateCases)
    it(c.name, () => {
      const got = privateGet(c.source, c.params);
      if (c.problem === null) assert.equal(got, null);
      else assert.match(got ?? '', c.problem);
    });
});
