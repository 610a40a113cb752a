import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const codeCache = new URL('./code-cache.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'hotpatch-code-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const target = join(dir, 'target.cjs');
const cacheDir = join(dir, 'cache');
const driver = join(dir, 'driver.mjs');
writeFileSync(
  driver,
  `import { runWithCodeCache } from ${JSON.stringify(codeCache)};
const [file, cache, build] = process.argv.slice(2);
const r = runWithCodeCache(file, cache, build);
process.stdout.write(JSON.stringify({ used: r.used, out: globalThis.out, file: r.cacheFile }));\n`,
);

/** The target's text: what it reports, through the CommonJS names a bundle uses and a chunk. */
const source = (word: string) =>
  `globalThis.out = require('node:path').basename(__filename) + ':' + ${JSON.stringify(word)} + require('./chunk.cjs').mark;\nmodule.exports = 1;\n`;
// A chunk the target requires (with its own cache) and that requires the target back (a cycle).
writeFileSync(join(dir, 'chunk.cjs'), `exports.mark = '!';\nexports.target = require('./target.cjs');\n`);

/** Runs the target through the code cache in a new process (the cache is written as it exits). */
function run(cache = cacheDir, build = 'build-1'): { used: boolean; out: string; file: string } {
  const r = spawnSync(process.execPath, [driver, target, cache, build], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { used: boolean; out: string; file: string };
}

describe('the runtime bundle with a V8 code cache', () => {
  // Steps in order, on one target and one cache directory: [what happens, then, expected].
  const steps: Array<[string, () => void, { used: boolean; out: string }]> = [
    [
      'first start: no cache, compiled from source',
      () => writeFileSync(target, source('A')),
      {
        used: false,
        out: 'target.cjs:A!',
      },
    ],
    ['next start: the cache written at exit is used', () => {}, { used: true, out: 'target.cjs:A!' }],
    [
      'the bundle rebuilt with text of the same length: not the old cache (V8 checks only the length)',
      () => writeFileSync(target, source('B')),
      { used: false, out: 'target.cjs:B!' },
    ],
    ['and its own cache after that', () => {}, { used: true, out: 'target.cjs:B!' }],
    [
      'a cache V8 cannot read: rejected, compiled from source',
      () => {
        for (const f of readdirSync(cacheDir)) writeFileSync(join(cacheDir, f), 'not a code cache');
      },
      { used: false, out: 'target.cjs:B!' },
    ],
    ['written again after that', () => {}, { used: true, out: 'target.cjs:B!' }],
  ];
  for (const [what, before, expected] of steps) {
    it(what, () => {
      before();
      const r = run();
      assert.deepEqual({ used: r.used, out: r.out }, expected);
      assert.ok(existsSync(r.file), 'the cache is on disk after the run');
      assert.equal(
        readdirSync(cacheDir).filter((f) => f.startsWith('runtime-')).length >= 2,
        true,
        'the chunk has its own',
      );
    });
  }

  it('another build id is another cache', () => {
    assert.equal(run(cacheDir, 'build-2').used, false);
    assert.equal(run(cacheDir, 'build-2').used, true);
  });

  it('a file of the bundle that throws as it loads throws again when required again', () => {
    const bad = join(dir, 'bad.cjs');
    writeFileSync(bad, `exports.half = true;\nthrow new Error('bad file');\n`);
    const entry = join(dir, 'entry.cjs');
    writeFileSync(
      entry,
      `const seen = [];\nfor (let i = 0; i < 2; i++) { try { seen.push(require('./bad.cjs').half); } catch (e) { seen.push(e.message); } }\nglobalThis.out = seen.join(',');\n`,
    );
    const r = spawnSync(process.execPath, [driver, entry, cacheDir, 'build-bad'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { out: string }).out, 'bad file,bad file');
  });

  it('an unusable cache directory only costs the compile', () => {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    assert.deepEqual(run(notADir), { used: false, out: 'target.cjs:B!', file: run(notADir).file });
  });

  it('why the cache is named by the file: V8 itself takes a cache of other text of the same length', () => {
    // A's cache under B's name: V8 accepts it and runs A's compiled code for B's text.
    writeFileSync(target, source('A'));
    const a = run(cacheDir, 'build-3');
    run(cacheDir, 'build-3');
    writeFileSync(target, source('B'));
    const b = run(cacheDir, 'build-3');
    assert.equal(b.out, 'target.cjs:B!');
    copyFileSync(a.file, b.file);
    assert.deepEqual(
      { used: run(cacheDir, 'build-3').used, out: run(cacheDir, 'build-3').out },
      {
        used: true,
        out: 'target.cjs:A!',
      },
    );
  });
});
