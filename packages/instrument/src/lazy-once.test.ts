import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeModule } from './analyze.js';
import { parse } from './ast.js';
import { lazyOnceHelpers } from './lazy-once.js';

/**
 * Lazy run-once helpers, table-driven: what the helper does decides, not its name. `helpers`: the
 * source declares them; `expect`: the helper names and the parameters they run once.
 */
const cases: Array<{ name: string; source: string; expect: Record<string, number[]> }> = [
  {
    name: "esbuild's __commonJS, as published",
    source:
      'var __getOwnPropNames = Object.getOwnPropertyNames;\n' +
      'var __commonJS = (cb, mod) => function __require() {\n' +
      '  return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;\n};\n',
    expect: { __commonJS: [0] },
  },
  {
    name: "esbuild's __commonJS, minified (tar 7.5.16's d)",
    source: 'var d=(s,e)=>()=>(e||s((e={exports:{}}).exports,e),e.exports);',
    expect: { d: [0] },
  },
  {
    name: "esbuild's __esm, as published",
    source:
      'var __getOwnPropNames = Object.getOwnPropertyNames;\n' +
      'var __esm = (fn, res) => function __init() {\n  return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;\n};\n',
    expect: { __esm: [0] },
  },
  {
    name: 'a hand-written once() with an if',
    source:
      'function once(f) { var done = false, v; return function () { if (!done) { done = true; v = f(); } return v; }; }',
    expect: { once: [0] },
  },
  {
    name: 'not: the returned function calls its argument every time (a thunk)',
    source: 'var thunk = (f) => () => f();',
    expect: {},
  },
  {
    name: 'not: the guard is not a memo the returned function assigns',
    source: 'var when = (f, on) => () => on && f();',
    expect: {},
  },
  {
    name: 'not: the memo lives in the returned function (reset on every call)',
    source: 'var every = (f) => () => { var m; return m || (m = f()); };',
    expect: {},
  },
  {
    name: 'not: a helper name declared twice',
    source:
      'var d=(s,e)=>()=>(e||s((e={exports:{}}).exports,e),e.exports);\nfunction g() { var d = 1; return d; }',
    expect: {},
  },
  {
    name: 'not: calls its argument twice',
    source: 'var twice = (f, r) => () => (r || (r = f(), f()), r);',
    expect: {},
  },
];

describe('lazy run-once helpers', () => {
  for (const c of cases)
    it(c.name, () => {
      const found = lazyOnceHelpers(parse(c.source, 'commonjs'));
      assert.deepEqual(Object.fromEntries([...found].map(([k, v]) => [k, [...v]])), c.expect);
    });

  it("a module function passed to one runs once: its variables are the module's (a scope accessor)", () => {
    const source =
      'var d=(s,e)=>()=>(e||s((e={exports:{}}).exports,e),e.exports);\n' +
      'var T=d(x=>{var limit=5;x.check=(n)=>n<limit;});\n' +
      'var thunk=(f)=>()=>f();\nvar U=thunk(()=>{var other=1;return other;});\n' +
      'module.exports=T();\n';
    const fns = analyzeModule(source, { sourceType: 'commonjs' }).functions;
    const once = fns.filter((f) => f.once).map((f) => f.key);
    assert.deepEqual(once, ['d:arg0']);
  });
});
