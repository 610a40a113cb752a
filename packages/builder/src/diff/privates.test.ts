import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import { checkReplacement, instrumentModule } from '@hotpatch/instrument';
import { diffFile } from './index.js';

/**
 * Private names in replacements, run: the baseline is instrumented as the runtime does it, objects
 * are made by the running code before the patch, the builder's replacements fill their slots, and
 * the same calls must give what the fixed release gives on objects it made itself. A rewrite that
 * parses but reaches the wrong private name, or loses an instance's state, fails here.
 */

type Exports = Record<string, unknown>;

/** Runs CommonJS source in a fresh context; `__hotpatch$` is a minimal runtime (slots and the gate). */
function load(code: string): { exports: Exports; slots: unknown[]; gate: (src: string) => unknown } {
  const state: { slots: unknown[]; gate: (src: string) => unknown } = { slots: [], gate: () => undefined };
  const runtime = {
    module: (gate: (src: string) => unknown, _id: string, n: number) => {
      state.slots = new Array(n).fill(undefined);
      state.gate = gate;
      return state.slots;
    },
    scope: () => {},
    ready: () => {},
    c: {},
  };
  const module = { exports: {} as Exports };
  vm.runInNewContext(`(function (module, exports) {${code}\n})`, { __hotpatch$: runtime })(
    module,
    module.exports,
  );
  return { exports: module.exports, ...state };
}

/** `calls` on objects the running code made, after the patch; and the same on the fixed release. */
function compare(
  a: string,
  b: string,
  setup: (e: Exports) => unknown,
  calls: (x: unknown, e: Exports) => unknown,
) {
  const result = diffFile({ path: 'index.js', sourceType: 'commonjs', oldSource: a, newSource: b });
  assert.ok(result.patch, result.changes.map((c) => `${c.id}: ${c.reason}`).join('; '));
  const inst = instrumentModule(a, 'commonjs', 'test');
  const running = load(inst.code);
  const made = setup(running.exports);
  for (const fp of result.patch.functions) {
    assert.equal(
      checkReplacement(inst.table, fp, (n) => n in globalThis),
      null,
    );
    const index = inst.table.functions.findIndex((f) => f.key === fp.key);
    running.slots[index] = running.gate(fp.source);
  }
  const fixed = load(b);
  const expected = calls(setup(fixed.exports), fixed.exports);
  // Through JSON: the values come from another realm.
  const got = JSON.parse(JSON.stringify(calls(made, running.exports)));
  assert.deepEqual(got, JSON.parse(JSON.stringify(expected)));
  return got;
}

describe('private names in replacements, run', () => {
  it('reads, writes, compound and logical assignments, updates, calls, `#x in o` and static names reach the running instance’s own state', () => {
    const cls = (m: string) =>
      `class Counter {\n  #n = 0; #limit; static #made = 0; #log = [];\n  constructor(limit) { this.#limit = limit; Counter.#made++; }\n  #push(x, y) { this.#log.push(x + (y ?? '')); return this.#log.length; }\n  get #room() { return this.#limit - this.#n; }\n  add(k) { ${m} }\n  bump() { this.#n++; }\n  static made() { return Counter.#made; }\n}\nmodule.exports = { Counter };\n`;
    const a = cls('this.#n += k; return this.#n;');
    const b = cls(
      "if (k > this.#room) throw new RangeError('full'); this.#n += k; this.#limit ??= 9; this.#log ||= []; this.#limit &&= this.#limit; this.#n++; --this.#n; const same = (o) => #n in o; return [this.#n, this.#push(k, '!'), Counter.#made, same(this), same({}), this.#room];",
    );
    const got = compare(
      a,
      b,
      (e) => {
        const C = e.Counter as new (l: number) => { bump(): void };
        const c = new C(5);
        c.bump(); // state made by the running code, before the patch
        c.bump();
        return c;
      },
      (x) => {
        const c = x as { add(k: number): unknown };
        const out: unknown[] = [c.add(1)];
        try {
          c.add(10);
        } catch (e) {
          out.push((e as Error).message);
        }
        return out;
      },
    );
    assert.deepEqual(got, [[3, 1, 1, true, false, 2], 'full']);
  });

  it('a nested class’s private names inside an outer class’s method, and a class the new code defines', () => {
    const src = (body: string) =>
      `class Outer {\n  #secret = 's';\n  static Inner = class Inner {\n    #v = 1;\n    read(o) { ${body} }\n  };\n}\nmodule.exports = { Outer };\n`;
    compare(
      src('return this.#v;'),
      src(
        'class Local { #w = 5; get() { return this.#w; } } return [this.#v + 1, o.#secret, new Local().get(), #secret in o];',
      ),
      (e) => {
        const O = e.Outer as { new (): object; Inner: new () => { read(o: object): unknown } };
        return { i: new O.Inner(), o: new O() };
      },
      (x) => {
        const { i, o } = x as { i: { read(o: object): unknown }; o: object };
        return i.read(o);
      },
    );
  });

  it('private methods the fix adds are inlined where the new code calls them, one calling another, with `this`, `arguments` and module bindings', () => {
    const src = (extra: string, body: string) =>
      `const PREFIX = 'k:';\nclass Keys {\n  #seen = new Set();\n${extra}  add(k) { ${body} }\n  size() { return this.#seen.size; }\n}\nmodule.exports = { Keys };\n`;
    const got = compare(
      src('', 'this.#seen.add(PREFIX + k); return this.#seen.size;'),
      src(
        '  #norm(k) { return PREFIX + this.#trim(String(k), arguments.length); }\n  static #limit(n) { return Math.min(n, 3); }\n  #trim(s, n) { return s.trim().slice(0, Keys.#limit(8) + n); }\n',
        "if (k === '__proto__') return -1; this.#seen.add(this.#norm(k)); return this.#seen.size;",
      ),
      (e) => {
        const k = new (e.Keys as new () => { add(k: string): number })();
        k.add('a');
        return k;
      },
      (x) => {
        const k = x as { add(k: string): number; size(): number };
        return [k.add('  bbbbbbb '), k.add('__proto__'), k.size()];
      },
    );
    assert.deepEqual(got, [2, -1, 2]);
  });

  it('an anonymous class in a variable, as esbuild emits it (`var k = class { … }`), minified private names', () => {
    const src = (body: string) =>
      `var k = class { #t = 0; static #e = 'x'; cksumValid = !1; m(s) { ${body} } };\nmodule.exports = { k };\n`;
    compare(
      src('this.#t++; return s + this.#t;'),
      src('if (typeof s !== "string") throw new TypeError(k.#e); this.#t += 2; return s + this.#t;'),
      (e) => new (e.k as new () => object)(),
      (x) => {
        const o = x as { m(s: unknown): unknown };
        let err = '';
        try {
          o.m(1);
        } catch (e) {
          err = (e as Error).message;
        }
        return [o.m('a'), o.m('b'), err];
      },
    );
  });

  it('a method that reads `arguments` (the guard passes the accessor, then `arguments`)', () => {
    const src = (body: string) =>
      `class V {\n  #sep = ',';\n  join() { ${body} }\n}\nmodule.exports = { V };\n`;
    compare(
      src('return Array.prototype.join.call(arguments, this.#sep);'),
      src(
        "if (arguments.length > 3) throw new RangeError('too many'); return Array.prototype.join.call(arguments, this.#sep + ' ');",
      ),
      (e) => new (e.V as new () => object)(),
      (x) => {
        const v = x as { join(...a: string[]): string };
        let err = '';
        try {
          v.join('a', 'b', 'c', 'd');
        } catch (e) {
          err = (e as Error).message;
        }
        return [v.join('a', 'b'), err];
      },
    );
  });

  it('a private method called with spread arguments keeps `this`, and errors of the running class are its own', () => {
    const src = (body: string) =>
      `class P {\n  #k = 2;\n  #cb = null;\n  #mul(...xs) { return xs.map((x) => x * this.#k); }\n  run(xs, other) { ${body} }\n}\nmodule.exports = { P };\n`;
    compare(
      src('return this.#mul(...xs);'),
      src(
        'let e = null; try { other.#mul(1); } catch (err) { e = err.constructor.name; } return [this.#mul(...xs, 10), e, this.#mul?.(4), this.#cb?.(1)];',
      ),
      (e) => new (e.P as new () => object)(),
      (x) => (x as { run(xs: number[], o: object): unknown }).run([1, 2], {}),
    );
  });
});
