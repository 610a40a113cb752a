import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packBytes, packCode, packEntry, packFile, packIndex, packSource } from './pack.js';

describe('instrumentation cache pack', () => {
  const entries = [
    { key: 'a.cjs', code: 'var __hp$s = 1; // é', table: '{"functions":[]}', source: 'var a = 1; // é' },
    {
      key: 'b.mjs',
      code: 'export const ü = 2;',
      table: '{"functions":[{"key":"f"}]}',
      source: 'export const ü=2',
    },
  ];
  const files = { 'cjs:/app/a.js': 'a.cjs', 'cjs:/app/copy/a.js': 'a.cjs', 'mjs:/app/b.mjs': 'b.mjs' };

  it('gives back each entry by key, multi-byte text included, and nothing for other keys', () => {
    const bytes = packBytes(entries, files);
    const index = packIndex(bytes);
    for (const e of entries) {
      assert.deepEqual(packEntry(bytes, index, e.key), { code: e.code, table: e.table, source: e.source });
      assert.equal(packCode(bytes, index, e.key), e.code);
      assert.equal(packSource(bytes, index, e.key), e.source);
    }
    assert.equal(packEntry(bytes, index, 'c.cjs'), null);
    assert.equal(packCode(bytes, index, 'c.cjs'), null);
    assert.equal(packSource(bytes, index, 'c.cjs'), null);
    assert.equal(packEntry(bytes, index, 'constructor'), null, 'no key from the prototype');
    assert.equal(packCode(bytes, index, 'constructor'), null, 'no key from the prototype');
  });

  it('names the entry each file loaded; only files whose entry it holds', () => {
    const index = packIndex(packBytes(entries.slice(0, 1), files));
    assert.equal(packFile(index, 'cjs:/app/a.js'), 'a.cjs');
    assert.equal(packFile(index, 'cjs:/app/copy/a.js'), 'a.cjs');
    assert.equal(packFile(index, 'mjs:/app/b.mjs'), null, 'its entry is not in this pack');
    assert.equal(packFile(index, 'cjs:/app/other.js'), null);
    assert.equal(packFile(index, 'constructor'), null, 'no file from the prototype');
  });

  it('refuses a truncated or foreign file, and a pack of the previous format', () => {
    const bytes = packBytes(entries, files);
    assert.throws(() => packIndex(bytes.subarray(0, bytes.length - 1)), /truncated/);
    assert.throws(() => packIndex(Buffer.concat([bytes, Buffer.from('x')])), /truncated/);
    assert.throws(() => packIndex(Buffer.from('{"a.cjs":[0,1,1,1]}\nxx')), /not a hotpatch pack/);
    assert.throws(
      () => packIndex(Buffer.from('hotpatch-pack 1\n{"a.cjs":[0,1,1,1]}\nxx')),
      /not a hotpatch pack/,
    );
    const v2 = bytes.toString('latin1').replace('hotpatch-pack 3', 'hotpatch-pack 2');
    assert.throws(() => packIndex(Buffer.from(v2, 'latin1')), /not a hotpatch pack/);
  });

  it('never gives back an entry whose bytes changed (CRC-32), and still gives the others', () => {
    const bytes = packBytes(entries, files);
    const index = packIndex(bytes);
    // Flip one byte of a.cjs's code: what would run as the module.
    const at = index.data + index.entries['a.cjs']![0] + 4;
    const corrupt = Buffer.from(bytes);
    corrupt[at] = corrupt[at]! ^ 0x20;
    const ci = packIndex(corrupt);
    assert.equal(packCode(corrupt, ci, 'a.cjs'), null);
    assert.equal(packEntry(corrupt, ci, 'a.cjs'), null);
    assert.equal(packSource(corrupt, ci, 'a.cjs'), null);
    assert.equal(packCode(corrupt, ci, 'b.mjs'), entries[1]!.code);
    // A byte of its source, which identifies the module's text: the same.
    const src = index.data + index.entries['b.mjs']![4];
    const corrupt2 = Buffer.from(bytes);
    corrupt2[src] = corrupt2[src]! ^ 0x01;
    const ci2 = packIndex(corrupt2);
    assert.equal(packSource(corrupt2, ci2, 'b.mjs'), null);
    assert.equal(packCode(corrupt2, ci2, 'b.mjs'), null);
    assert.equal(packCode(corrupt2, ci2, 'a.cjs'), entries[0]!.code);
  });
});
