/**
 * Start-up with everything the preload may load at once: the fleet agent (HOTPATCH_SERVER), the
 * parser (first module compiled) and, on Node 20, the off-thread ESM hooks. Loading them in
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
const report = `console.log(JSON.stringify({ f: lib.f(1), guarded: String(lib.f).includes('__hp$s') }));`;
const entries: Record<string, string> = {
  'CommonJS entry': `const lib = require('./lib.cjs');\n${report}\n`,
  'ES module entry': `import lib from './lib.cjs';\n${report}\n`,
  'CommonJS entry that may call import()': `const lib = require('./lib.cjs');\nif (!lib) import('./lib.cjs');\n${report}\n`,
};
const files = Object.keys(entries).map((name, i) => {
  const file = join(dir, `entry${i}.${name.startsWith('ES') ? 'mjs' : 'cjs'}`);
  writeFileSync(file, entries[name]!);
  return { name, file };
});

for (const { major, bin } of nodeBinaries()) {
  describe(`Node ${major}: the agent, the parser and the ESM hooks load together`, () => {
    for (const { name, file } of files) {
      it(`${name}: instrumented, no warning, exit 0 (5 runs)`, () => {
        for (let run = 0; run < 5; run++) {
          const res = spawnSync(bin, ['--import', registerPath, file], {
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
          assert.equal(res.status, 0, `run ${run}: ${res.stderr}`);
          assert.doesNotMatch(res.stderr, /loads unpatched|getStatus/, `run ${run}`);
          assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').pop()!), { f: 2, guarded: true });
        }
      });
    }
  });
}
