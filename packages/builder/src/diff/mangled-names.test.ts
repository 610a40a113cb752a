import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import { analyzeModule, type SourceType } from '@hotpatch/instrument';
import { applyEditsTo } from './emit.js';
import { diffFile } from './index.js';
import { toRunningNames } from './mangled-names.js';

/**
 * The fixed version of a minified build under the running version's names (table-driven: running
 * source, fixed source → the fixed source as the diff sees it, or null when it is left as published).
 */
interface Case {
  name: string;
  a: string;
  b: string;
  sourceType?: SourceType;
  want: string | null;
}

const cases: Case[] = [
  {
    name: 'two module variables whose names the minifier swapped (terser: the error helper `x` became `m`, the adder `m` became `x`), beside the real fix',
    a: '(()=>{function x(t){return"E:"+t}function m(t,e){return t+e}function a(t){return m(t,1)}function b(t){if(t>9)throw x(t);return m(t,2)}exports.a=a,exports.b=b})();',
    b: '(()=>{function m(t){return"E:"+t}function x(t,e){return t+e}function a(t){return x(t,1)}function b(t){if(t>5)throw m(t);return x(t,2)}exports.a=a,exports.b=b})();',
    want: '(()=>{function x(t){return"E:"+t}function m(t,e){return t+e}function a(t){return m(t,1)}function b(t){if(t>5)throw x(t);return m(t,2)}exports.a=a,exports.b=b})();',
  },
  {
    name: 'parameters and locals renamed inside an unchanged function (`i` and `n` swapped)',
    a: '(()=>{function f(t,e){const i=[];let n=e.exec(t);for(;n;)i.push(n[0]),n=e.exec(t);return i}exports.f=f})();',
    b: '(()=>{function f(t,e){const n=[];let i=e.exec(t);for(;i;)n.push(i[0]),i=e.exec(t);return n}exports.f=f})();',
    want: '(()=>{function f(t,e){const i=[];let n=e.exec(t);for(;n;)i.push(n[0]),n=e.exec(t);return i}exports.f=f})();',
  },
  {
    name: 'a new function (inserted before the one that calls it) whose name no running variable has keeps it; the caller is still the running `p`',
    a: '(()=>{const v={a:1};function p(t){return Object.assign({},v,t)}exports.p=p})();',
    b: '(()=>{const v={a:1};function w(t){return!0===t?{on:!0}:t}function p(t){const e=Object.assign({},v,t);return e.x=w(e.x),e}exports.p=p})();',
    // `w` and the new `e` are names A does not declare there: kept.
    want: '(()=>{const v={a:1};function w(t){return!0===t?{on:!0}:t}function p(t){const e=Object.assign({},v,t);return e.x=w(e.x),e}exports.p=p})();',
  },
  {
    name: 'a new function named like a running variable (it took `v`, the running defaults became `r`): `v$1`',
    a: '(()=>{const v={a:1};function p(t){return Object.assign({},v,t)}exports.p=p})();',
    b: '(()=>{const r={a:1};function v(t){return!0===t?{on:!0}:t}function p(t){const e=Object.assign({},r,t);return e.x=v(e.x),e}exports.p=p})();',
    want: '(()=>{const v={a:1};function v$1(t){return!0===t?{on:!0}:t}function p(t){const e=Object.assign({},v,t);return e.x=v$1(e.x),e}exports.p=p})();',
  },
  {
    name: 'shorthand properties and patterns keep their key when the variable is renamed',
    a: '(()=>{const a=1;function f(o){const{k:e,n:s=2}=o;return{a,k:e,n:s}}exports.f=f})();',
    b: '(()=>{const b=1;function f(o){const{k,n=2}=o;return{a:b,k,n}}exports.f=f})();',
    want: '(()=>{const a=1;function f(o){const{k: e,n: s=2}=o;return{a:a,k: e,n: s}}exports.f=f})();',
  },
  {
    name: 'ES module: exported declarations keep their names, a renamed local exported by specifier is spelt out',
    a: 'const t=1;export function api(e){return e+t}const n=2;export{n as two};',
    b: 'const e=1;export function api(t){return t+e}const n=2;export{n as two};',
    sourceType: 'module',
    want: 'const t=1;export function api(e){return e+t}const n=2;export{n as two};',
  },
  {
    name: 'ES module: a shorthand export specifier of a renamed local',
    a: 'const t=1;function f(){return t}export{f,t as one};',
    b: 'const e=1;function f(){return e}export{f,e as one};',
    sourceType: 'module',
    want: 'const t=1;function f(){return t}export{f,t as one};',
  },
  {
    name: 'a renamed local that would capture a module variable the fixed code now reads there gets a fresh name',
    // The running `g` declares `e` (paired with the fixed `n`) and does not read the module's `e`;
    // the fixed `g` reads the module's `e` (running `t`... here `e`) beside its own `n`.
    a: '(()=>{const e=5;function g(t){const n=t*2;return n+e}function h(t){const e=t+1;return e}exports.g=g,exports.h=h})();',
    b: '(()=>{const e=5;function g(t){const n=t*2;return n+e}function h(t){const n=t+1;return n+e}exports.g=g,exports.h=h})();',
    // h's local `n` is the running `e`: named `e` it would hide the module's `e` that h now reads.
    want: '(()=>{const e=5;function g(t){const n=t*2;return n+e}function h(t){const n$1=t+1;return n$1+e}exports.g=g,exports.h=h})();',
  },
  {
    name: 'a direct eval: names are looked up at run time, nothing is renamed',
    a: '(()=>{const t=1;exports.f=function(e){return eval(e)+t}})();',
    b: '(()=>{const e=1;exports.f=function(t){return eval(t)+e}})();',
    want: null,
  },
];

describe('toRunningNames: the fixed version of a minified build under the running names', () => {
  for (const c of cases)
    it(c.name, () => {
      const sourceType = c.sourceType ?? 'commonjs';
      const r = toRunningNames(analyzeModule(c.a, { sourceType }), analyzeModule(c.b, { sourceType }));
      assert.equal(r?.analysis.source ?? null, c.want);
    });

  it('counts the variables given their running names and the fresh ones', () => {
    const c = cases[3]!;
    const r = toRunningNames(
      analyzeModule(c.a, { sourceType: 'commonjs' }),
      analyzeModule(c.b, { sourceType: 'commonjs' }),
    );
    assert.deepEqual(r && { renamed: r.renamed, fresh: r.fresh }, { renamed: 1, fresh: 1 });
  });
});

describe('a minified build patched under the running names', () => {
  // The running build calls its error helper `x` and its adder `m`; the fixed one the other way round.
  const running =
    '(()=>{function x(t){return new Error("E:"+t)}function m(t,e){return t+e}function b(t){if(t>9)throw x(t);return m(t,2)}module.exports={b}})();\n';
  const fixed =
    '(()=>{function m(t){return new Error("E:"+t)}function x(t,e){return t+e}function b(t){if(t>5)throw m(t);return x(t,2)}module.exports={b}})();\n';
  const load = (source: string) => {
    const module = { exports: {} as { b: (t: number) => number } };
    vm.runInNewContext(source, { module, Error });
    return module.exports;
  };
  const outcome = (f: () => number) => {
    try {
      return f();
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('the patched running build answers as the fixed build does', () => {
    const d = diffFile({
      path: 'fxp.cjs',
      sourceType: 'commonjs',
      oldSource: running,
      newSource: fixed,
      minified: true,
    });
    assert.ok(d.patch, d.changes.map((c) => `${c.id} ${c.name}: ${c.reason}`).join('; '));
    assert.equal(d.patch.liveEdit, null);
    assert.deepEqual(
      d.patch.functions.map((f) => f.key),
      ['<iife>/b'],
    );
    const patched = load(applyEditsTo(running, d.patch.edits));
    const want = load(fixed);
    for (const t of [3, 7, 12])
      assert.equal(
        outcome(() => patched.b(t)),
        outcome(() => want.b(t)),
        `b(${t})`,
      );
    assert.equal(
      outcome(() => patched.b(7)),
      'E:7',
    );
  });
});
