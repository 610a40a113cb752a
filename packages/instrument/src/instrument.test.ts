import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import { ACCESS, PRIVATE_ACCESS } from './convention.js';
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

type PrivateAccessor = (name: string, o: unknown, v?: unknown, w?: number) => unknown;

/**
 * Runs an instrumented CommonJS module whose slot `key` holds a stand-in replacement that keeps
 * the private accessors its guard passes; `call` makes the guard run. Returns them and the exports.
 */
function privateAccessorsOf(source: string, key: string, call: (e: Record<string, unknown>) => void) {
  const { code, table } = instrumentModule(source, 'commonjs', 'test');
  const index = table.functions.findIndex((f) => f.key === key);
  const shape = table.functions[index]!;
  let got: PrivateAccessor[] = [];
  const slots: unknown[] = [];
  slots[index] = (...args: unknown[]) => {
    got = args.slice(0, shape.privates.length) as PrivateAccessor[];
  };
  const runtime = { module: () => slots, scope: () => {}, ready: () => {}, c: {} };
  const module = { exports: {} as Record<string, unknown> };
  vm.runInNewContext(`(function (module) {${code}\n})`, { __hotpatch$: runtime })(module);
  call(module.exports);
  return { accessors: got, shape, exports: module.exports };
}

/** An error of that name (the module runs in another realm: its constructors are not ours). */
const named = (name: string) => (e: unknown) => (e as Error).name === name;

describe('instrumentModule: private accessors', () => {
  const P = PRIVATE_ACCESS;
  it('answer every access code on an instance’s own private state, and fail as `o.#x` would on other objects', () => {
    const { accessors, shape, exports } = privateAccessorsOf(
      'class C { #n = 1; #list = null; #ok = true; static #s = 5; #twice(x) { return 2 * x + this.#n; } get #g() { return this.#n * 10; }\n' +
        '  m() { return 0; } }\nmodule.exports = { C, c: new C() };\n',
      'C#m',
      (e) => (e.c as { m(): void }).m(),
    );
    assert.deepEqual(shape.privates, ['C.#__hp$p0']);
    const [acc] = accessors;
    const c = exports.c;
    const C = exports.C;
    assert.ok(acc);
    assert.equal(acc('n', c), 1);
    assert.equal(acc('n', c, 4, P.assign), 4);
    assert.equal(acc('n', c, undefined, P.postIncrement), 4);
    assert.equal(acc('n', c, undefined, P.preIncrement), 6);
    assert.equal(acc('n', c, undefined, P.preDecrement), 5);
    assert.equal(acc('n', c, undefined, P.postDecrement), 5);
    assert.equal(
      acc('n', c, (x: number) => x * 3, P.update),
      12,
    );
    assert.equal(acc('g', c), 120, 'a private getter runs with this = c');
    assert.equal(acc('twice', c, [3], P.call), 18, 'a private method is called with this = c');
    assert.deepEqual(
      acc('list', c, () => [], P.nullishAssign),
      [],
    );
    assert.equal(
      acc('ok', c, () => 'no', P.orAssign),
      true,
    );
    assert.equal(
      acc('ok', c, () => 'yes', P.andAssign),
      'yes',
    );
    assert.equal(acc('twice', c, [1], P.optionalCall), acc('twice', c, [1], P.call), 'o.#twice?.(1)');
    assert.equal(acc('list', c, null, P.assign), null);
    assert.equal(acc('list', c, [1], P.optionalCall), undefined, 'o.#list?.(1) on null: short-circuits');
    assert.equal(acc('s', C), 5, 'a static private field, on the class');
    assert.equal(acc('n', c, undefined, P.has), true);
    assert.equal(acc('n', {}, undefined, P.has), false);
    assert.throws(() => acc('n', {}), named('TypeError'), 'a foreign object: the TypeError `o.#n` gives');
    assert.throws(() => acc('twice', c, 1, P.assign), named('TypeError'), 'a private method is not writable');
    assert.throws(() => acc('nope', c), named('ReferenceError'));
  });

  it('one per class: an inner class’s accessor serves its names, the outer one’s its own', () => {
    const { accessors, shape, exports } = privateAccessorsOf(
      'class Outer { #v = "outer"; static Inner = class Inner { #v = "inner"; m(o) { return 0; } }; }\nmodule.exports = { Outer, o: new Outer(), i: new Outer.Inner() };\n',
      'Inner#m',
      (e) => (e.i as { m(o: unknown): void }).m(e.o),
    );
    assert.equal(shape.privates.length, 2);
    assert.notEqual(shape.privates[0]!.split('.')[1], shape.privates[1]!.split('.')[1]);
    const [inner, outer] = accessors;
    assert.equal(inner!('v', exports.i), 'inner');
    assert.equal(outer!('v', exports.o), 'outer');
  });

  it('are handed over for an anonymous class through its variable, not when the class runs code as it is made', () => {
    const anon = privateAccessorsOf(
      'var k = class { #t = 7; m() { return 0; } };\nmodule.exports = { k: new k() };\n',
      'k#m',
      (e) => (e.k as { m(): void }).m(),
    );
    assert.deepEqual(anon.shape.privates, ['k.#__hp$p0']);
    assert.equal(anon.accessors[0]!('t', anon.exports.k), 7);
    for (const source of [
      'var k = class { #t = 7; static { this.x = 1; } m() { return 0; } };\nmodule.exports = { k: new k() };\n',
      'var k = class { #t = 7; static s = make(); m() { return 0; } };\nfunction make() { return 1; }\nmodule.exports = { k: new k() };\n',
      'var k = class { #t = 7; m() { return 0; } };\nk = k;\nmodule.exports = { k: new k() };\n',
      'module.exports = { k: new (class { #t = 7; m() { return 0; } })() };\n',
      'class K { #t = 7; m(K) { return 0; } }\nmodule.exports = { k: new K() };\n',
    ]) {
      const { code, table } = instrumentModule(source, 'commonjs', 'test');
      assert.ok(
        table.functions.every((f) => f.privates.length === 0),
        source,
      );
      assert.ok(!code.includes('#__hp$p'), source);
    }
  });
});
