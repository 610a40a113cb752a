/**
 * Start-up with everything the preload may load at once: the fleet agent (HOTPATCH_SERVER), the
 * parser (first module compiled) and the ESM hooks (off-thread on Node 20, in-thread on 22+; both
 * start only when ES modules may load, which is checked too). Loading them in
 * parallel once made Node 20's loader throw inside require() ("reading 'getStatus'"): every module
 * loaded unpatched, or the app died. Each entry kind runs several times: the race was timing-bound.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { registerPath } from '@hotpatch/runtime';
import { nodeBinaries } from './testing/nodes.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Instrumented functions carry the guard: their source names the module's slot array.
writeFileSync(join(dir, 'lib.cjs'), `exports.f = function f(a) { return a + 1; };\n`);
// An ES module that a CommonJS module require()s, and the one it imports.
writeFileSync(
  join(dir, 'lib.mjs'),
  `import { g } from './dep.mjs';\nexport function f(a) { return g(a); }\n`,
);
writeFileSync(join(dir, 'dep.mjs'), `export function g(a) { return a + 1; }\n`);
const guarded = (fn: string) => `String(${fn}).includes('__hp$s')`;
// Whether the ES module load hooks were started (they start only when ES modules may load).
const report = `console.log(JSON.stringify({ f: lib.f(1), guarded: ${guarded('lib.f')}, hooks: globalThis.__hotpatch$.runtime.esmHooksStarted }));`;
const entries: Record<string, { code: string; hooks: boolean }> = {
  'CommonJS entry': { code: `const lib = require('./lib.cjs');\n${report}\n`, hooks: false },
  'ES module entry': { code: `import lib from './lib.cjs';\n${report}\n`, hooks: true },
  'CommonJS entry that may call import()': {
    code: `const lib = require('./lib.cjs');\nif (!lib) import('./lib.cjs');\n${report}\n`,
    hooks: true,
  },
};
const files = Object.keys(entries).map((name, i) => {
  const file = join(dir, `entry${i}.${name.startsWith('ES') ? 'mjs' : 'cjs'}`);
  writeFileSync(file, entries[name]!.code);
  return { name, file, hooks: entries[name]!.hooks };
});
// require(esm): the ES module and its import are instrumented although the hooks had not started.
const requireEsm = join(dir, 'entry-require-esm.cjs');
writeFileSync(
  requireEsm,
  `const lib = require('./lib.mjs');\nconst dep = require('./dep.mjs');\nconsole.log(JSON.stringify({ f: lib.f(1), guarded: ${guarded('lib.f')} && ${guarded('dep.g')}, hooks: globalThis.__hotpatch$.runtime.esmHooksStarted }));\n`,
);

function run(bin: string, major: number, file: string) {
  return spawnSync(bin, ['--import', registerPath, file], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      ...process.env,
      HOTPATCH_HOME: join(dir, `home-${major}`),
      HOTPATCH_SERVICE: 'startup',
      // A dead control plane: the agent loads, fails to connect and retries quietly.
      HOTPATCH_SERVER: 'http://127.0.0.1:9',
      HOTPATCH_ENROLL_TOKEN: 'hpe_test',
      HOTPATCH_CACHE: undefined,
    },
  });
}

for (const { major, bin } of nodeBinaries()) {
  describe(`Node ${major}: the agent, the parser and the ESM hooks load together`, () => {
    for (const { name, file, hooks } of files) {
      it(`${name}: instrumented, no warning, exit 0, ESM hooks ${hooks ? 'started' : 'not started'} (5 runs)`, () => {
        for (let r = 0; r < 5; r++) {
          const res = run(bin, major, file);
          assert.equal(res.status, 0, `run ${r}: ${res.stderr}`);
          assert.doesNotMatch(res.stderr, /loads unpatched|getStatus/, `run ${r}`);
          assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').pop()!), { f: 2, guarded: true, hooks });
        }
      });
    }
    // Node 20's off-thread hooks never see require(); an ES module loaded that way runs its own
    // code there (as before the hooks were deferred).
    it(
      'CommonJS entry that require()s an ES module: both modules instrumented, the hooks started by it',
      { skip: major < 22 && 'Node 20: require(esm) is not instrumented' },
      () => {
        const res = run(bin, major, requireEsm);
        assert.equal(res.status, 0, res.stderr);
        assert.doesNotMatch(res.stderr, /loads unpatched/);
        assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').pop()!), {
          f: 2,
          guarded: true,
          hooks: true,
        });
      },
    );
  });
}
