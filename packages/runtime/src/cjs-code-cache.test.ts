import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as vm from 'node:vm';
import * as zlib from 'node:zlib';
import { entryName, openEntry, sealEntry, wrapModule } from './cjs-code-cache.js';

const crc32 = (zlib as unknown as { crc32?: (d: Uint8Array | string) => number }).crc32;

describe('the code cache entry: V8 data with a checked header', { skip: !crc32 && 'no zlib.crc32' }, () => {
  const data = Buffer.from('v8 cached data, any bytes \u0000\u00ff');
  const sealed = () => sealEntry(data, crc32!);
  /** The entry with one byte flipped. */
  const flip = (at: (b: Buffer) => number) => (b: Buffer) => {
    b[at(b)]! ^= 1;
    return b;
  };
  const cases: Array<[string, (b: Buffer) => Buffer, Buffer | null]> = [
    ['intact', (b) => b, data],
    ['a byte of the data changed', flip((b) => b.length - 3), null],
    ['a byte of the checksum changed', flip(() => 5), null],
    ['truncated', (b) => b.subarray(0, b.length - 1), null],
    ['longer', (b) => Buffer.concat([b, Buffer.from([0])]), null],
    ['not an entry (another magic)', flip(() => 0), null],
    ['shorter than the header', (b) => b.subarray(0, 7), null],
  ];
  for (const [name, edit, expected] of cases)
    it(name, () => assert.deepEqual(openEntry(edit(sealed()), crc32!), expected));
  it('an empty entry is one (the module was declined: Node compiles it)', () => {
    assert.equal(openEntry(sealEntry(new Uint8Array(0), crc32!), crc32!)?.length, 0);
  });
});

describe('the wrapped text keeps every line and column of the module (line offset -1)', () => {
  const positionOf = (code: string) => {
    const script = new vm.Script(wrapModule(code), { filename: '/m.js', lineOffset: -1 });
    try {
      (script.runInThisContext() as () => void)();
    } catch (e) {
      return /\/m\.js:(\d+):(\d+)/
        .exec((e as Error).stack ?? '')
        ?.slice(1)
        .map(Number);
    }
    return null;
  };
  it('an error on the first line, and further down', () => {
    assert.deepEqual(positionOf("throw new Error('x');"), [1, 7]);
    assert.deepEqual(positionOf("const a = 1;\n\n  throw new Error('x');"), [3, 9]);
  });
  it('code ending in a line comment still closes the wrapper', () => {
    assert.deepEqual(positionOf("\nthrow new Error('x'); // the end"), [2, 7]);
  });
});

describe(
  'an entry is named by the source and the text compiled from it',
  { skip: !crc32 && 'no zlib.crc32' },
  () => {
    const sha = 'a'.repeat(64);
    const name = (code: string, source = sha) => entryName(source, code, crc32!);
    it('the same source and text: the same entry', () =>
      assert.equal(name('var a = 1;'), name('var a = 1;')));
    it('the same length, another text (V8 alone would take the entry): another entry', () =>
      assert.notEqual(name('var a = 1;'), name('var b = 1;')));
    it('another source, the same text: another entry', () =>
      assert.notEqual(name('var a = 1;'), name('var a = 1;', 'b'.repeat(64))));
  },
);
