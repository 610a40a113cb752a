/**
 * Node's module compile cache under the runtime (Node 22.8+; module-compile-cache.ts): the
 * instrumented modules are compiled from a V8 code cache in HOTPATCH_HOME/compiled (Node writes
 * it); changed text is compiled again, never run from an old entry; the
 * user's own NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE are respected.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nodeBinaries } from './testing/nodes.js';
import { preloadFile } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-compile-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const lib = join(dir, 'lib.cjs');
const entry = join(dir, 'entry.cjs');
// The module's text: one word changes, the length stays (V8 alone checks only a cache's length).
const libText = (word: string) => `exports.f = function f(a) { return ${JSON.stringify(word)} + a; };\n`;
writeFileSync(
  entry,
  `const lib = require('./lib.cjs');\nconsole.log(JSON.stringify({ out: lib.f(1), guarded: String(lib.f).includes('__hp$s'), dir: require('node:module').getCompileCacheDir?.() ?? null }));\n`,
);

/**
 * Runs the entry under the runtime: what lib.f(1) returns, whether it is instrumented, the cache
 * directory (Node's, without the per-version directory it adds in it) and whether Node's debug
 * output says lib.cjs's entry was accepted.
 */
function run(bin: string, home: string, env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(bin, ['--require', preloadFile, entry], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      ...process.env,
      HOTPATCH_HOME: home,
      HOTPATCH_SERVICE: 'compile-cache',
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
      ...env,
    },
  });
  assert.equal(res.status, 0, res.stderr);
  assert.doesNotMatch(res.stderr, /hotpatch: warning|unpatched/);
  const r = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    out: string;
    guarded: boolean;
    dir: string | null;
  };
  return { ...r, dir: r.dir ? dirname(r.dir) : null, accepted: /lib\.cjs was accepted/.test(res.stderr) };
}

/** Files under a directory, recursively (the cache keeps one per module compiled). */
const filesUnder = (d: string): string[] =>
  existsSync(d)
    ? readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(d, f)).isFile())
    : [];

for (const { major, bin } of nodeBinaries()) {
  const has = spawnSync(bin, ['-p', `typeof require('node:module').enableCompileCache`], {
    encoding: 'utf8',
  });
  const skip = has.stdout.trim() !== 'function' && `Node ${major} has no module compile cache`;
  describe(`Node ${major}: the module compile cache under the runtime`, { skip }, () => {
    const home = join(dir, `home-${major}`);
    const cache = join(home, 'compiled');
    const env = { NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: undefined };
    it('is kept in HOTPATCH_HOME/compiled, written by the first start', () => {
      writeFileSync(lib, libText('A'));
      assert.deepEqual(run(bin, home, env), { out: 'A1', guarded: true, dir: cache, accepted: false });
      assert.ok(filesUnder(cache).length > 0, 'no cache written');
    });
    it('a later start compiles the instrumented module from it', () => {
      assert.deepEqual(run(bin, home, env), { out: 'A1', guarded: true, dir: cache, accepted: true });
    });
    it('a module changed to text of the same length runs its new text, then again from its cache', () => {
      writeFileSync(lib, libText('B'));
      assert.deepEqual(run(bin, home, env), { out: 'B1', guarded: true, dir: cache, accepted: false });
      assert.deepEqual(run(bin, home, env), { out: 'B1', guarded: true, dir: cache, accepted: true });
    });
    it("the user's NODE_COMPILE_CACHE is kept", () => {
      const theirs = join(dir, `theirs-${major}`);
      assert.equal(run(bin, home, { ...env, NODE_COMPILE_CACHE: theirs }).dir, theirs);
      assert.ok(filesUnder(theirs).length > 0, 'nothing in their cache');
    });
    it('NODE_DISABLE_COMPILE_CACHE=1 turns it off', () => {
      const r = run(bin, join(dir, `home-off-${major}`), { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });
      assert.deepEqual(r, { out: 'B1', guarded: true, dir: null, accepted: false });
    });
  });
}
