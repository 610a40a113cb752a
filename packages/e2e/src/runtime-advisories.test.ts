/**
 * The runtime on real fixes, on every supported Node version: a live process shows the exploit,
 * gets the hotpatch in memory, and no longer shows it, same pid, with the package's ordinary
 * behaviour intact; revert brings the old code back; a restarted process runs the patched code
 * from its first call. A success report while the exploit still works fails the test.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigningKey, type KeyPairPem } from '@hotpatch/core';
import { applyTo, revertIn, status } from '@hotpatch/runtime';
import {
  checkFile,
  corpusSet,
  label,
  type PreparedCase,
  prepareCase,
  readAdvisories,
} from './testing/advisories.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-e2e-'));
process.env.HOTPATCH_HOME = home;
const key: KeyPairPem = generateSigningKey();
const keyFile = join(home, 'trusted.pub');

const cases: PreparedCase[] = [];

before(async () => {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(keyFile, key.publicKeyPem);
  // The seed pairs: the rest of the corpus is the coverage benchmark's (its set-aside part must
  // stay unseen while the builder is developed).
  for (const a of readAdvisories()) {
    if (corpusSet(a) !== 'seed' || !existsSync(checkFile(a))) continue;
    const c = await prepareCase(a, key);
    if (!c.build.result.payload) continue; // refused by the builder: the coverage benchmark reports those
    cases.push(c);
  }
});

after(() => rmSync(home, { recursive: true, force: true }));

function envFor(service: string): NodeJS.ProcessEnv {
  return { ...process.env, HOTPATCH_HOME: home, HOTPATCH_TRUSTED_KEYS: keyFile, HOTPATCH_SERVICE: service };
}

for (const node of nodeBinaries()) {
  describe(`Node ${node.major}`, () => {
    test(
      'real advisories are fixed live, same pid; revert and restart behave',
      { timeout: 600_000 },
      async () => {
        assert.ok(
          cases.length >= 8,
          `at least 8 advisories build live with an exploit check (got ${cases.length})`,
        );
        const service = `e2e-node${node.major}`;
        const probe = new Probe(node.bin, envFor(service));
        try {
          await probe.ready;
          const pid = probe.pid;
          for (const c of cases) {
            const before = await probe.check(c.check, c.dir);
            assert.equal(before.exploit, true, `${label(c.advisory)}: exploit works before the patch`);
            assert.equal(before.normal, true, `${label(c.advisory)}: normal behaviour before the patch`);
            const res = await applyTo(pid, c.build.bytes);
            assert.equal(res.state, 'applied', `${label(c.advisory)}: ${res.state} ${res.reason ?? ''}`);
            const afterPatch = await probe.check(c.check, c.dir);
            assert.equal(afterPatch.pid, pid, 'same process');
            assert.equal(
              afterPatch.exploit,
              false,
              `${label(c.advisory)}: reported applied but the exploit still works`,
            );
            assert.equal(afterPatch.normal, true, `${label(c.advisory)}: normal behaviour after the patch`);
          }
          const s = await status(pid);
          assert.equal(s.engine, 'redirect');
          assert.equal(s.patches.filter((p) => p.state === 'applied').length, cases.length);

          // Revert restores exactly the code before: the exploit is back.
          const first = cases[0]!;
          const id = first.build.result.payload!.patchId;
          await revertIn(pid, id);
          assert.equal(
            (await probe.check(first.check, first.dir)).exploit,
            true,
            'revert brings the old code back',
          );
          assert.equal((await applyTo(pid, first.build.bytes)).state, 'applied');
          assert.equal((await probe.check(first.check, first.dir)).exploit, false, 're-applied');
          assert.ok(probe.alive());
        } finally {
          await probe.stop();
        }

        // A restarted process runs the patched code from its first call (patches kept locally).
        const restarted = new Probe(node.bin, envFor(service));
        try {
          for (const c of cases) {
            const r = await restarted.check(c.check, c.dir);
            assert.equal(
              r.exploit,
              false,
              `${label(c.advisory)}: restarted process is patched from its first call`,
            );
            assert.equal(r.normal, true, `${label(c.advisory)}: normal behaviour after restart`);
          }
        } finally {
          await restarted.stop();
        }
      },
    );
  });
}

// The LiveEdit engine (HOTPATCH_ENGINE=liveedit, Node <= 25): fixes whose bundle LiveEdit can
// take apply through it; the others are refused with nothing changed and a pointer to the
// redirect engine.
const liveEditNode = nodeBinaries().find((n) => n.major < 26);
if (liveEditNode) {
  test(
    `Node ${liveEditNode.major}, LiveEdit engine: real advisories apply or are refused with nothing changed`,
    { timeout: 600_000 },
    async () => {
      const probe = new Probe(liveEditNode.bin, {
        ...envFor(`e2e-liveedit-${liveEditNode.major}`),
        HOTPATCH_ENGINE: 'liveedit',
      });
      try {
        await probe.ready;
        assert.equal((await status(probe.pid)).engine, 'liveedit');
        let applied = 0;
        for (const c of cases) {
          assert.equal(
            (await probe.check(c.check, c.dir)).exploit,
            true,
            `${label(c.advisory)}: exploit before`,
          );
          const fits = c.build.result.payload!.files.every((f) => f.liveEdit === null);
          if (!fits) {
            await assert.rejects(applyTo(probe.pid, c.build.bytes), /redirect engine/, label(c.advisory));
            assert.equal(
              (await probe.check(c.check, c.dir)).exploit,
              true,
              `${label(c.advisory)}: nothing changed`,
            );
            continue;
          }
          const res = await applyTo(probe.pid, c.build.bytes);
          assert.equal(res.state, 'applied', `${label(c.advisory)}: ${res.reason ?? ''}`);
          const r = await probe.check(c.check, c.dir);
          assert.deepEqual(
            [r.exploit, r.normal],
            [false, true],
            `${label(c.advisory)}: fixed under LiveEdit`,
          );
          applied++;
        }
        assert.ok(applied >= 8, `LiveEdit applies at least 8 real fixes (got ${applied})`);
      } finally {
        await probe.stop();
      }
    },
  );
}
