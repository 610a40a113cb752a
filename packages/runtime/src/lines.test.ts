import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineReader } from './lines.js';

describe('LineReader', () => {
  it('splits lines across and within chunks', () => {
    const r = new LineReader(1000);
    assert.deepEqual(r.push(Buffer.from('{"a":1}\n{"b"')), { lines: ['{"a":1}'], tooLarge: false });
    assert.deepEqual(r.push(Buffer.from(':2}\n\n{"c":3}\n')), {
      lines: ['{"b":2}', '', '{"c":3}'],
      tooLarge: false,
    });
    // A multi-byte character split between chunks is joined before decoding.
    const e = Buffer.from('"é"\n');
    assert.deepEqual(r.push(e.subarray(0, 2)).lines, []);
    assert.deepEqual(r.push(e.subarray(2)).lines, ['"é"']);
  });

  it('refuses a line longer than the limit, and reads nothing after it', () => {
    const r = new LineReader(10);
    assert.equal(r.push(Buffer.from('12345')).tooLarge, false);
    assert.equal(r.push(Buffer.from('678901')).tooLarge, true);
    assert.deepEqual(r.push(Buffer.from('\nok\n')), { lines: [], tooLarge: false });
    const r2 = new LineReader(10);
    assert.deepEqual(r2.push(Buffer.from('short\n12345678901\nnext\n')), {
      lines: ['short'],
      tooLarge: true,
    });
  });

  it('reads a 40 MiB line in linear time (1 KiB chunks)', () => {
    const r = new LineReader(64 << 20);
    const chunk = Buffer.alloc(1024, 97);
    const t0 = performance.now();
    for (let i = 0; i < 40 * 1024; i++) r.push(chunk);
    const { lines } = r.push(Buffer.from('\n'));
    const ms = performance.now() - t0;
    assert.equal(lines[0]?.length, 40 << 20);
    // Quadratic concatenation takes minutes here; linear takes well under a second.
    assert.ok(ms < 5000, `${Math.round(ms)} ms`);
  });
});
