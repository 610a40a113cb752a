import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRIVATE_ACCESS } from '@hotpatch/instrument';
import { cellStore } from './cells.js';

/**
 * Shadow private fields (`__hotpatch$.pf`): a field the fix adds, kept beside each running
 * instance. Each access code must do what the same expression on a real private field does.
 */
describe('cellStore: private fields the fix adds', () => {
  const P = PRIVATE_ACCESS;
  const store = cellStore();
  const mine = new WeakSet<object>();
  const has = (o: unknown) => typeof o === 'object' && o !== null && mine.has(o);
  const make = () => {
    const o = {};
    mine.add(o);
    return o;
  };
  const pf = (o: unknown, w?: number, v?: unknown, init: () => unknown = () => 0) =>
    store.pf('m#K.#n', has, init, 'n', o, v, w);

  it('starts at its initial value, per instance, computed once', () => {
    let made = 0;
    const a = make();
    const b = make();
    const init = () => {
      made++;
      return new Map();
    };
    const first = store.pf('m#K.#cache', has, init, 'cache', a);
    assert.ok(first instanceof Map);
    assert.equal(store.pf('m#K.#cache', has, init, 'cache', a), first, 'the same object on every read');
    assert.notEqual(store.pf('m#K.#cache', has, init, 'cache', b), first, 'another instance has its own');
    assert.equal(made, 2);
  });

  it('answers every access code as a real private field would', () => {
    const o = make();
    assert.equal(pf(o), 0);
    assert.equal(pf(o, P.assign, 5), 5);
    assert.equal(pf(o, P.postIncrement), 5);
    assert.equal(pf(o, P.preIncrement), 7);
    assert.equal(pf(o, P.postDecrement), 7);
    assert.equal(pf(o, P.preDecrement), 5);
    assert.equal(
      pf(o, P.update, (c: number) => c * 2),
      10,
    );
    assert.equal(
      pf(o, P.nullishAssign, () => 1),
      10,
    );
    assert.equal(
      pf(o, P.andAssign, () => 'x'),
      'x',
    );
    assert.equal(
      pf(o, P.orAssign, () => 'y'),
      'x',
    );
    pf(o, P.assign, function (this: unknown, a: number) {
      return [this, a];
    });
    assert.deepEqual(pf(o, P.call, [3]), [o, 3], 'called with this = the instance');
    assert.deepEqual(pf(o, P.optionalCall, [4]), [o, 4]);
    pf(o, P.assign, undefined);
    assert.equal(pf(o, P.optionalCall, [4]), undefined, 'o.#n?.(4) on undefined: short-circuits');
    pf(o, P.assign, 10n);
    assert.equal(pf(o, P.preIncrement), 11n, 'a BigInt stays one');
    assert.equal(pf(o, P.has), true);
    assert.equal(pf({}, P.has), false);
  });

  it('throws the TypeError V8 gives for an object of another class, and makes nothing for it', () => {
    let made = 0;
    const other = {};
    assert.throws(
      () => store.pf('m#K.#z', has, () => made++, 'z', other),
      /Cannot read private member #z from an object whose class did not declare it/,
    );
    assert.throws(() => store.pf('m#K.#z', has, () => made++, 'z', other, 1, P.assign), /Cannot write/);
    assert.equal(made, 0);
  });
});
