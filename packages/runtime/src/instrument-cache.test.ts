import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256 } from './hash.js';
import { instrumentCached, openPack, packedSha, settle } from './instrument-cache.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-instrument-cache-'));
process.env.HOTPATCH_HOME = home;
after(() => rmSync(home, { recursive: true, force: true }));

const text = (word: string) => `exports.f = function f(x) { return '${word}-PACKED-SOURCE' + x; };\n`;
const file = '/app/lib.js';
const copy = '/app/copy/lib.js';

/** One start of a service: opens its pack, loads the modules as the runtime does, settles. */
function start(loads: Array<[string, string]>): Array<string | null> {
  openPack('svc\u0000/app/main.js');
  const known = loads.map(([filename, source]) => {
    const fromPack = packedSha(filename, 'commonjs', source);
    const sha = fromPack ?? sha256(source);
    const { code } = instrumentCached(source, sha, 'commonjs', 'm1', filename);
    assert.match(code, /PACKED-SOURCE/);
    return fromPack;
  });
  settle();
  return known;
}
const packFile = () => {
  // The one version directory this test's home has (instrument-cache.ts VERSION).
  const [version] = readdirSync(join(home, 'instrumented'));
  const dir = join(home, 'instrumented', version!, 'packs');
  return join(dir, readdirSync(dir)[0]!);
};

describe('the pack names each module file’s text: a start hashes nothing it has seen', () => {
  it('the first start hashes; the next takes the sha256 of the same text from the pack', () => {
    assert.deepEqual(start([[file, text('A')]]), [null]);
    assert.deepEqual(start([[file, text('A')]]), [sha256(text('A'))]);
  });

  it('other text from the same file (same length), another file or source type: not from the pack', () => {
    start([[file, text('A')]]); // the pack names lib.js with text A
    openPack('svc\u0000/app/main.js');
    assert.equal(packedSha(file, 'commonjs', text('B')), null);
    assert.equal(packedSha('/app/other.js', 'commonjs', text('A')), null);
    assert.equal(packedSha(file, 'module', text('A')), null);
    assert.equal(packedSha(file, 'commonjs', text('A')), sha256(text('A')));
    settle();
  });

  it('a file that changed is hashed, and named with its new text by the next pack', () => {
    assert.deepEqual(start([[file, text('B')]]), [null]);
    assert.deepEqual(start([[file, text('B')]]), [sha256(text('B'))]);
  });

  it('a known text from a file the pack does not name: hashed once, then named too', () => {
    assert.deepEqual(
      start([
        [file, text('B')],
        [copy, text('B')],
      ]),
      [sha256(text('B')), null],
    );
    assert.deepEqual(
      start([
        [file, text('B')],
        [copy, text('B')],
      ]),
      [sha256(text('B')), sha256(text('B'))],
    );
  });

  it('a pack whose source bytes were changed gives no sha256 (the text is compared, not trusted)', () => {
    const bytes = readFileSync(packFile());
    const at = bytes.lastIndexOf('B-PACKED-SOURCE');
    assert.ok(at > 0);
    bytes[at] = 'C'.charCodeAt(0);
    writeFileSync(packFile(), bytes);
    openPack('svc\u0000/app/main.js');
    assert.equal(packedSha(copy, 'commonjs', text('B')), null);
    settle();
  });
});
