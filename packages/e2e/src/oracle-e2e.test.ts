/**
 * The behaviour oracle on real corpus pairs (needs the npm registry the first time; installs are
 * cached in .cache): the hotpatched vulnerable release and the fixed release agree on every
 * generated call, with the fix visible where the generated inputs reach it — and a deliberately
 * broken replacement (re-signed with the test key, so the runtime applies and verifies it) is
 * caught as a defect introduced by the hotpatch. That last test is what shows the oracle can fail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigningKey } from '@hotpatch/core';
import type { PairReport } from './oracle/classify.js';
import { DEFAULT_RUN, type OracleEnv, type OraclePair, runPair } from './oracle/run.js';
import { tamperBundle } from './oracle/tamper.js';
import { advisoryOf, type PreparedCase, prepareCase } from './testing/advisories.js';
import { nodeBinaries } from './testing/nodes.js';

const PAIRS = ['minimist@1.2.5', 'ansi-regex@5.0.0', 'uuid@13.0.0'];
const root = mkdtempSync(join(tmpdir(), 'hotpatch-oracle-test-'));
const home = join(root, 'home');
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(root, 'trusted.pub');
const prepared = new Map<string, PreparedCase>();
// The machine's Node and the newest supported one (the redirect engine is the default on both).
const own = Number(process.versions.node.split('.')[0]);
const nodes = nodeBinaries().filter((n) => n.major === own || n.major === 26);
const opts = { ...DEFAULT_RUN, pairMs: 120_000, limits: { maxCalls: 600, perTarget: 150 } };

before(async () => {
  writeFileSync(keyFile, key.publicKeyPem);
  for (const p of PAIRS) prepared.set(p, await prepareCase(advisoryOf(p), key));
});
after(() => rmSync(root, { recursive: true, force: true }));

const envOf = (n: { major: number; bin: string }): OracleEnv => ({
  nodeBin: n.bin,
  node: n.major,
  env: { ...process.env, HOTPATCH_HOME: home, HOTPATCH_TRUSTED_KEYS: keyFile },
});

function pairOf(label: string, bundle?: Buffer): OraclePair {
  const b = prepared.get(label)!;
  assert.ok(b.build.result.payload, `${label}: the builder made a hotpatch`);
  return {
    advisory: b.advisory,
    fixed: b.fixed,
    dir: b.dir,
    fixedDir: b.fixedDir,
    check: b.check,
    bundle: bundle ?? b.build.bytes,
  };
}

const show = (r: PairReport) =>
  `${r.status} ${r.detail}\n${JSON.stringify(r.divergences.slice(0, 3), null, 1)}`;

for (const n of nodes) {
  describe(`behaviour oracle on Node ${n.major}`, () => {
    for (const label of PAIRS) {
      test(`${label}: the hotpatched release agrees with the fixed release on every call`, async () => {
        const r = await runPair(pairOf(label), envOf(n), opts);
        assert.equal(r.status, 'compared', show(r));
        assert.ok(r.calls >= 40, `${r.calls} calls`);
        assert.equal(r.counts['patch-defect'], 0, show(r));
        assert.equal(r.counts['fix-not-applied'], 0, show(r));
        assert.equal(
          r.counts.agree + r.counts['fix-working'] + r.counts.unstable + r.counts['api-added'],
          r.calls,
        );
        assert.ok(r.counts.agree > 0);
        // ansi-regex returns its (changed) regex; uuid 13.0.1 added bounds checks that generated
        // buffers and offsets reach: the oracle sees those fixes at work without an exploit.
        if (label !== 'minimist@1.2.5') assert.ok(r.counts['fix-working'] > 0, show(r));
      });
    }

    test('a broken replacement, applied and verified by the runtime, is caught as a patch defect', async () => {
      const b = prepared.get('minimist@1.2.5')!;
      // setKey (the fixed function) returns before setting anything: every parsed option is lost.
      const broken = tamperBundle(b.build.bytes, key.privateKeyPem, 'undefined');
      const r = await runPair(pairOf('minimist@1.2.5', broken), envOf(n), opts);
      assert.equal(r.status, 'compared', show(r));
      assert.match(r.detail, /^applied/);
      assert.ok(r.counts['patch-defect'] > 0, show(r));
      const d = r.divergences.find((x) => x.class === 'patch-defect')!;
      assert.notEqual(d.a, d.b);
      assert.equal(d.b, d.c);
    });
  });
}
