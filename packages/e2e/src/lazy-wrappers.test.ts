/**
 * A module that a bundler runs on first require (esbuild's `__commonJS`), in a real process on
 * every supported Node version: a patch whose migrations set up that module's state is refused,
 * with nothing changed, while the module has not run yet (there is no state to set up, and its
 * old code would build the old state later); once it has run, the same patch applies and fixes
 * it. Neither apply may report success for a fix that is not in effect.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo, status } from '@hotpatch/runtime';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';
import { type PreparedShape, prepareShape } from './testing/shapes.js';

const bundle = (types: string, kind: string) =>
  `"use strict";\nvar d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\n` +
  `var T = d((x) => { ${types} });\nvar H = d((x) => { var t = T(); x.kind = (c) => ${kind}; });\n` +
  'module.exports = { kind: (c) => H().kind(c) };\n';

const root = mkdtempSync(join(tmpdir(), 'hotpatch-lazy-'));
const app = join(root, 'app');
const home = join(root, 'home');
process.env.HOTPATCH_HOME = home; // where the client finds the processes' control sockets
const key = generateSigningKey();
const keyFile = join(root, 'trusted.pub');
const loadOnly = join(root, 'load-only.check.cjs');
let p: PreparedShape;

before(async () => {
  writeFileSync(keyFile, key.publicKeyPem);
  p = await prepareShape(
    {
      name: 'a lazily required module gains state a changed function reads',
      a: { 'index.js': bundle('x.name = new Map([["0", "File"]]);', 't.name.get(c)') },
      b: {
        'index.js': bundle(
          'x.name = new Map([["0", "File"]]); x.normal = new Set(["0"]);',
          '(t.normal.has(c) ? t.name.get(c) : "unsupported")',
        ),
      },
      old: `return pkg.kind('D') !== 'unsupported';`,
      normal: `return pkg.kind('0') === 'File';`,
      expect: 'live',
    },
    0,
    join(root, 'pkgs'),
    app,
    key,
  );
  // Loads the package without calling it: its lazy module functions have not run.
  writeFileSync(
    loadOnly,
    `'use strict';\nmodule.exports = { async exploit(load) { load(${JSON.stringify(p.pkg)}); return false; }, async normal() { return true; } };\n`,
  );
});
after(() => rmSync(root, { recursive: true, force: true }));

for (const node of nodeBinaries()) {
  test(`Node ${node.major}: refused while the lazy module has not run, applied and working once it has`, async () => {
    assert.ok(p.build.payload, 'the fix builds');
    const probe = new Probe(
      node.bin,
      {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `lazy-${node.major}`,
      },
      { preload: 'require' },
    );
    try {
      await probe.ready;
      await probe.check(loadOnly, app);
      await assert.rejects(applyTo(probe.pid, p.bytes), /has not run in this module yet/);
      assert.deepEqual(
        (await status(probe.pid)).patches.map((x) => x.state),
        [],
        'nothing applied, nothing pending',
      );
      const unpatched = await probe.check(p.check, app);
      assert.deepEqual([unpatched.exploit, unpatched.normal], [true, true], 'the old code runs, unharmed');
      assert.equal((await applyTo(probe.pid, p.bytes)).state, 'applied');
      const fixed = await probe.check(p.check, app);
      assert.deepEqual([fixed.exploit, fixed.normal], [false, true], 'fixed, and ordinary calls work');
    } finally {
      await probe.stop();
    }
  });
}
