/**
 * Every fix shape of shape-cases.ts, built and applied for real on every supported Node version:
 * the old behaviour shows, the hotpatch applies in memory, the old behaviour is gone and ordinary
 * calls still work, revert brings it back, and a restarted process runs the patched code from its
 * first call. Restart cases are refused with their verdict id, and nothing is written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo, revertIn } from '@hotpatch/runtime';
import { SHAPE_CASES } from './shape-cases.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';
import { type PreparedShape, prepareShape } from './testing/shapes.js';

const root = mkdtempSync(join(tmpdir(), 'hotpatch-shapes-'));
const app = join(root, 'app');
const home = join(root, 'home');
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(root, 'trusted.pub');
const prepared: PreparedShape[] = [];

before(async () => {
  writeFileSync(keyFile, key.publicKeyPem);
  for (const [i, c] of SHAPE_CASES.entries())
    prepared.push(await prepareShape(c, i, join(root, 'pkgs'), app, key));
});
after(() => rmSync(root, { recursive: true, force: true }));

const describeBuild = (p: PreparedShape) =>
  p.build.changes
    .filter((c) => c.file !== 'package.json')
    .map((c) => `${c.verdict} ${c.id} ${c.name}: ${c.reason}`)
    .join('\n  ');

describe('builder verdicts on fix shapes', () => {
  test('live cases build, with the verdicts that name their mechanism', () => {
    for (const p of prepared.filter((x) => x.c.expect === 'live')) {
      assert.ok(p.build.payload, `${p.c.name}: expected a hotpatch, got:\n  ${describeBuild(p)}`);
      for (const id of p.c.verdicts ?? [])
        assert.ok(
          p.build.changes.some((c) => c.id === id && c.verdict === 'live'),
          `${p.c.name}: expected verdict ${id}, got:\n  ${describeBuild(p)}`,
        );
    }
  });
  test('restart cases are refused with their verdict, and nothing is built', () => {
    for (const p of prepared.filter((x) => x.c.expect !== 'live')) {
      assert.equal(p.build.payload, null, `${p.c.name}: expected a refusal, got a hotpatch`);
      assert.ok(
        p.build.changes.some((c) => c.id === p.c.expect && c.verdict === 'restart'),
        `${p.c.name}: expected ${p.c.expect}, got:\n  ${describeBuild(p)}`,
      );
    }
  });
});

for (const node of nodeBinaries()) {
  test(
    `Node ${node.major}: every live shape is fixed in memory, reverts, and survives a restart`,
    { timeout: 300_000 },
    async () => {
      const live = prepared.filter((p) => p.c.expect === 'live' && p.build.payload);
      assert.ok(live.length >= 15, `at least 15 live shapes (got ${live.length})`);
      const env = {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `shapes-${node.major}`,
      };
      const probe = new Probe(node.bin, env);
      try {
        await probe.ready;
        for (const p of live) {
          const name = p.c.name;
          const before = await probe.check(p.check, app);
          assert.deepEqual(
            [before.exploit, before.normal],
            [true, true],
            `${name}: old behaviour shows before the patch`,
          );
          const res = await applyTo(probe.pid, p.bytes);
          assert.equal(res.state, 'applied', `${name}: ${res.state} ${res.reason ?? ''}`);
          const fixed = await probe.check(p.check, app);
          assert.equal(fixed.exploit, false, `${name}: reported applied but the old behaviour still shows`);
          assert.equal(fixed.normal, true, `${name}: ordinary calls after the patch`);
          await revertIn(probe.pid, p.build.payload!.patchId);
          const back = await probe.check(p.check, app);
          assert.deepEqual(
            [back.exploit, back.normal],
            [true, true],
            `${name}: revert brings the old code back`,
          );
          assert.equal((await applyTo(probe.pid, p.bytes)).state, 'applied', `${name}: applies again`);
        }
        assert.ok(probe.alive());
      } finally {
        await probe.stop();
      }
      // Restarted with the preload `hotpatch run` gives (--require, where the first used --import):
      // both ways in, with ES modules among the shapes (Node 20 instrumented them twice this way).
      const restarted = new Probe(node.bin, env, { preload: 'require' });
      try {
        await restarted.ready;
        for (const p of live) {
          const r = await restarted.check(p.check, app);
          assert.deepEqual(
            [r.exploit, r.normal],
            [false, true],
            `${p.c.name}: patched from the first call after a restart`,
          );
        }
      } finally {
        await restarted.stop();
      }
    },
  );
}
