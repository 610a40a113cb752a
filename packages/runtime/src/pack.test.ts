import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packBytes, packCode, packEntry, packIndex } from './pack.js';

describe('instrumentation cache pack', () => {
  const entries = [
    { key: 'a.cjs', code: 'var __hp$s = 1; // é', table: '{"functions":[]}' },
    { key: 'b.mjs', code: 'export const ü = 2;', table: '{"functions":[{"key":"f"}]}' },
  ];

  it('gives back each entry by key, multi-byte text included, and nothing for other keys', () => {
    const bytes = packBytes(entries);
    const index = packIndex(bytes);
    for (const e of entries) {
      assert.deepEqual(packEntry(bytes, index, e.key), { code: e.code, table: e.table });
      assert.equal(packCode(bytes, index, e.key), e.code);
    }
    assert.equal(packEntry(bytes, index, 'c.cjs'), null);
    assert.equal(packCode(bytes, index, 'c.cjs'), null);
    assert.equal(packEntry(bytes, index, 'constructor'), null, 'no key from the prototype');
    assert.equal(packCode(bytes, index, 'constructor'), null, 'no key from the prototype');
  });

  it('refuses a truncated or foreign file', () => {
    const bytes = packBytes(entries);
    assert.throws(() => packIndex(bytes.subarray(0, bytes.length - 1)), /truncated/);
    assert.throws(() => packIndex(Buffer.concat([bytes, Buffer.from('x')])), /truncated/);
    assert.throws(() => packIndex(Buffer.from('{"a.cjs":[0,1,1,1]}\nxx')), /not a hotpatch pack/);
  });
});
