/**
 * An author-assisted hotpatch (`hotpatch build --migrate FILE:SCRIPT`): the patch author's
 * statements run once at apply in the module's scope, and their revert statements at revert, in a
 * real process under the runtime, on every supported Node version.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import { generateSigningKey, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import { applyTo, revertIn } from '@hotpatch/runtime';
import { writePackage } from './testing/faults.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-author-'));
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(home, 'trusted.pub');
writeFileSync(keyFile, key.publicKeyPem);
after(() => rmSync(home, { recursive: true, force: true }));

// The running code keeps a private cache the fix does not touch; the author empties it at apply
// (a poisoned entry would survive the fix otherwise) and puts a marker back on revert.
const code = (check: string) => `const cache = new Map([['k', 'poisoned']]);
function get(k) { ${check} return cache.has(k) ? cache.get(k) : 'fresh'; }
module.exports = { get, size: () => cache.size };
`;
const v1 = writePackage(join(home, 'v1'), 'author-demo', '1.0.0', { 'index.js': code('') });
const v2 = writePackage(join(home, 'v2'), 'author-demo', '1.0.1', {
  'index.js': code("if (typeof k !== 'string') throw new TypeError('k');"),
});
const check = join(home, 'check.cjs');
writeFileSync(
  check,
  `module.exports = {
  exploit(load) { return load('./index.js').get('k') === 'poisoned'; },
  normal(load) { try { load('./index.js').get(1); return true; } catch { return false; } },
};`,
);
// exploit: what the cache holds now (after the author's revert statements: only their marker).
const size = join(home, 'size.cjs');
writeFileSync(
  size,
  `module.exports = {
  exploit(load) { return load('./index.js').size() === 1 && load('./index.js').get('reverted') === 1; },
  normal() { return true; },
};`,
);
let bundle: Buffer;
before(async () => {
  const result = buildPatch({
    from: await resolveSpec(v1),
    to: await resolveSpec(v2),
    migrate: [{ file: 'index.js', source: 'cache.clear();', revert: "cache.set('reverted', 1);" }],
  });
  assert.ok(result.payload, JSON.stringify(result.changes));
  assert.ok(result.changes.some((c) => c.id === 'migration-author'));
  bundle = Buffer.from(serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem))));
});

describe('author migrations run at apply and at revert, in the module, in a running process', () => {
  for (const node of nodeBinaries()) {
    test(`Node ${node.major}`, async () => {
      const probe = new Probe(node.bin, {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `author-${node.major}`,
      });
      try {
        await probe.ready;
        const before = await probe.check(check, v1);
        assert.deepEqual([before.exploit, before.normal], [true, true]);
        const applied = await applyTo(probe.pid, bundle);
        assert.equal(applied.state, 'applied', applied.reason ?? '');
        const after = await probe.check(check, v1);
        // The cache was emptied by the author's statements; the fixed get() refuses a non-string.
        assert.deepEqual([after.exploit, after.normal], [false, false]);
        assert.equal((await revertIn(probe.pid, applied.patchId)).state, 'reverted');
        const back = await probe.check(check, v1);
        assert.deepEqual([back.exploit, back.normal], [false, true]);
        assert.equal((await probe.check(size, v1)).exploit, true, 'the revert statements ran');
      } finally {
        await probe.stop();
      }
    });
  }
});
