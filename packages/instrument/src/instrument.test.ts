import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import { ACCESS } from './convention.js';
import { instrumentModule } from './instrument.js';

/**
 * The scope accessors instrumented code declares, run: a replacement reaches a running closure's
 * variables only through them, so an accessor that answers for the wrong variable is a patch
 * that says "applied" and computes with something else.
 */
type Accessor = (name: string, value?: unknown, access?: number) => unknown;

/** Runs an instrumented CommonJS module with a minimal runtime global that keeps the accessors run-once wrappers register. */
function accessorsOf(source: string): Accessor[] {
  const { code } = instrumentModule(source, 'commonjs', 'test');
  const registered: Accessor[] = [];
  const runtime = {
    module: () => [],
    scope: (_slots: unknown, _index: number, accessor: Accessor) => registered.push(accessor),
    ready: () => {},
    c: {},
  };
  const exports = {};
  vm.runInNewContext(`(function (exports) {${code}\n})`, { __hotpatch$: runtime })(exports);
  return registered;
}

describe('instrumentModule: scope accessors', () => {
  it('reach variables whatever their names, the accessor’s own parameter names included (minifiers use n, v, w)', () => {
    // A minified wrapper: its variables are called n, v and w, as terser and webpack name them.
    const [acc] = accessorsOf(
      '(function () { var n = "the n", v = { kind: "v" }; class w { constructor(t) { this.t = t; } }\n' +
        '  exports.make = function (t) { return new w(t + n + v.kind); }; })();\n',
    );
    assert.ok(acc, 'the run-once wrapper registers its accessor');
    assert.equal(acc('n'), 'the n');
    assert.equal((acc('v') as { kind: string }).kind, 'v');
    const W = acc('w') as new (t: string) => { t: string };
    assert.equal(typeof W, 'function');
    assert.equal(new W('x').t, 'x');
    acc('n', 'changed', ACCESS.assign);
    assert.equal(acc('n'), 'changed');
    acc('v', 41, ACCESS.assign);
    assert.equal(acc('v', undefined, ACCESS.preIncrement), 42);
  });

  it('send a name they do not list to the enclosing accessor, unchanged', () => {
    const [, inner] = accessorsOf(
      '(function () { var w = 1; (function () { var n = 2; exports.f = () => n + w; })(); })();\n',
    );
    // The outer wrapper registers first, the inner one second; `w` is the outer one's.
    assert.equal(inner!('n'), 2);
    assert.equal(inner!('w'), 1);
    inner!('w', 5, ACCESS.assign);
    assert.equal(inner!('w'), 5);
  });
});
