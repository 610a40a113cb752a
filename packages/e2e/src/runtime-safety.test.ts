/**
 * Bundles the runtime must refuse, with nothing changed in the process: tampered, signed by an
 * untrusted key, unsigned, built for another baseline. And a change that is running when the
 * patch arrives is retried and reported pending, naming what blocks it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import {
  type Bundle,
  generateSigningKey,
  loadPrivateKey,
  parseBundle,
  serializeBundle,
  signBundle,
} from '@hotpatch/core';
import { applyTo, status } from '@hotpatch/runtime';
import { advisoryOf, buildSigned, installApp } from './testing/advisories.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-refusals-'));
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(home, 'trusted.pub');
const checkPath = join(home, 'minimist-check.cjs');
const minimist = advisoryOf('minimist@1.2.5');
let good: Buffer;
let dir: string;

before(async () => {
  writeFileSync(keyFile, key.publicKeyPem);
  // Prototype pollution through constructor.prototype (CVE-2021-44906).
  writeFileSync(
    checkPath,
    `module.exports = {
      exploit(load) {
        try { load('minimist')(['--_.constructor.constructor.prototype.hpPolluted', 'yes']); return (function () {}).hpPolluted === 'yes'; }
        finally { delete Function.prototype.hpPolluted; }
      },
      normal(load) { const a = load('minimist')(['-x', '3', '--name=hp', 'rest']); return a.x === 3 && a.name === 'hp' && a._[0] === 'rest'; },
    };`,
  );
  dir = installApp('minimist', '1.2.5');
  good = (await buildSigned(minimist, key)).bytes;
});

after(() => process.env.KEEP_HOME || rmSync(home, { recursive: true, force: true }));

function resign(bundle: Bundle, edit: (b: Bundle) => void, signer = key): Buffer {
  const copy = structuredClone(bundle);
  edit(copy);
  return Buffer.from(serializeBundle(signBundle(copy.payload, loadPrivateKey(signer.privateKeyPem))));
}

for (const node of nodeBinaries().filter((n) => n.major === 20 || n.major === 26)) {
  describe(`Node ${node.major}`, () => {
    test('tampered, untrusted, unsigned and wrong-baseline bundles are refused; nothing changes', async () => {
      const probe = new Probe(node.bin, {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `refusals-${node.major}`,
      });
      try {
        assert.equal((await probe.check(checkPath, dir)).exploit, true);
        const bundle = parseBundle(good);

        const tampered = JSON.parse(good.toString()) as Bundle;
        const edit = tampered.payload.files[0]!.edits[0]!;
        edit.text += ' ';
        await assert.rejects(applyTo(probe.pid, Buffer.from(JSON.stringify(tampered))), {
          code: 'E_SIGNATURE_INVALID',
        });

        const stranger = generateSigningKey();
        await assert.rejects(
          applyTo(
            probe.pid,
            resign(bundle, () => {}, stranger),
          ),
          { code: 'E_UNTRUSTED_KEY' },
        );

        const unsigned = { payload: bundle.payload };
        await assert.rejects(applyTo(probe.pid, Buffer.from(JSON.stringify(unsigned))), {
          code: 'E_SIGNATURE_MISSING',
        });

        const otherBaseline = resign(bundle, (b) => {
          b.payload.files[0]!.baselineSha256 = 'a'.repeat(64);
        });
        await assert.rejects(applyTo(probe.pid, otherBaseline), { code: 'E_BASELINE_MISMATCH' });

        await assert.rejects(applyTo(probe.pid, Buffer.from(good.toString().slice(0, 200))), {
          code: 'E_BUNDLE_CORRUPT',
        });

        const after = await probe.check(checkPath, dir);
        assert.equal(after.exploit, true, 'nothing changed');
        assert.equal((await status(probe.pid)).patches.length, 0);

        // And the genuine bundle still applies.
        assert.equal((await applyTo(probe.pid, good)).state, 'applied');
        assert.equal((await probe.check(checkPath, dir)).exploit, false);
      } finally {
        await probe.stop();
      }
    });
  });
}

/** A fixture app with an async function that can be in flight when its patch arrives. */
async function pendingFixture(): Promise<{ dir: string; check: string; bundle: Buffer }> {
  const root = join(home, 'pending');
  const lib = (word: string) => `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function handle(ms) {
  await sleep(ms);
  return '${word}';
}
module.exports = { handle };
`;
  for (const [v, word] of [
    ['v1', 'old'],
    ['v2', 'new'],
  ] as const) {
    mkdirSync(join(root, v), { recursive: true });
    writeFileSync(join(root, v, 'package.json'), JSON.stringify({ name: 'pending-app', version: '1.0.0' }));
    writeFileSync(join(root, v, 'lib.js'), lib(word));
  }
  const check = join(root, 'check.cjs');
  // exploit(): the old code answers; normal(): starts a 1.5 s call that stays in flight.
  writeFileSync(
    check,
    `module.exports = {
    async exploit(load) { return (await load('./lib.js').handle(0)) === 'old'; },
    normal(load) { globalThis.inflight = load('./lib.js').handle(1500); return true; },
  };`,
  );
  const result = buildPatch({
    from: await resolveSpec(join(root, 'v1')),
    to: await resolveSpec(join(root, 'v2')),
    advisories: ['GHSA-test-pend-ing0'],
  });
  assert.ok(result.payload, 'fixture builds live');
  const bundle = Buffer.from(serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem))));
  return { dir: join(root, 'v1'), check, bundle };
}

describe('a changed function in flight', () => {
  for (const node of nodeBinaries().filter((n) => n.major === 20 || n.major === 26)) {
    test(`Node ${node.major}: pending while it runs (LiveEdit), applied once it is done`, async () => {
      const fx = await pendingFixture();
      const probe = new Probe(node.bin, {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `pending-${node.major}`,
        // LiveEdit (where V8 has it) waits for a changed function to leave the stack.
        ...(node.major < 26 ? { HOTPATCH_ENGINE: 'liveedit' } : {}),
      });
      try {
        assert.equal((await probe.check(fx.check, fx.dir)).exploit, true); // starts the in-flight call too
        const res = await applyTo(probe.pid, fx.bundle, 300);
        if (node.major >= 26) {
          // The redirect engine switches calls atomically: the in-flight call finishes on the old code.
          assert.equal(res.state, 'applied');
        } else {
          assert.equal(res.state, 'pending');
          assert.match(res.reason ?? '', /handle/);
          const s = await status(probe.pid);
          assert.equal(s.patches[0]?.state, 'pending');
          // Once the call is done, the runtime's retry applies it.
          let state = 'pending';
          for (let i = 0; i < 60 && state !== 'applied'; i++) {
            await new Promise((r) => setTimeout(r, 100));
            state = (await status(probe.pid)).patches[0]?.state ?? '';
          }
          assert.equal(state, 'applied');
        }
        const r = await probe.check(fx.check, fx.dir);
        assert.equal(r.exploit, false, 'the new code answers');
      } finally {
        await probe.stop();
      }
    });
  }
});

describe('worker threads', () => {
  for (const node of nodeBinaries().filter((n) => n.major === 20 || n.major === 26)) {
    test(`Node ${node.major}: a patch reaches the package loaded in a worker thread`, async () => {
      const probe = new Probe(node.bin, {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `workers-${node.major}`,
      });
      try {
        const before = await probe.check(checkPath, dir, { inWorker: true });
        assert.equal(before.main, false, 'ran in a worker');
        assert.equal(before.exploit, true);
        const res = await applyTo(probe.pid, good);
        assert.equal(res.state, 'applied', res.reason);
        const after = await probe.check(checkPath, dir, { inWorker: true });
        assert.equal(after.exploit, false, 'the worker runs the patched code');
        assert.equal(after.normal, true);
        const s = (await status(probe.pid)) as Awaited<ReturnType<typeof status>> & {
          threads: Array<{ ok: boolean }>;
        };
        assert.equal(s.threads.length, 1);
      } finally {
        await probe.stop();
      }
    });
  }
});

describe('staging, cumulative levels, socket permissions', () => {
  test('a patch for a module not loaded yet applies when it loads; level 2 replaces level 1; the socket is private', async () => {
    const { statSync } = await import('node:fs');
    const { socketPath } = await import('@hotpatch/runtime');
    const level1 = parseBundle(good);
    const level2 = resignPayload({
      ...structuredClone(level1.payload),
      patchId: `${level1.payload.patchId}-2`,
      level: 2,
      version: level1.payload.version.replace('+hp.1', '+hp.2'),
      supersedes: [level1.payload.patchId],
    });
    const probe = new Probe(process.execPath, {
      ...process.env,
      HOTPATCH_HOME: home,
      HOTPATCH_TRUSTED_KEYS: keyFile,
      HOTPATCH_SERVICE: 'staging',
    });
    try {
      await probe.ready;
      // Only the owner can reach the control socket.
      assert.equal(statSync(socketPath(probe.pid)).mode & 0o777, 0o600);
      assert.equal(statSync(join(home, 'run')).mode & 0o777, 0o700);
      // minimist is not loaded yet: the patch is staged, and the first load runs patched code.
      const staged = await applyTo(probe.pid, good);
      assert.equal(staged.state, 'staged');
      const first = await probe.check(checkPath, dir);
      assert.equal(first.exploit, false, 'loaded after the patch arrived: patched from its first call');
      assert.equal((await status(probe.pid)).patches[0]?.state, 'applied');
      // A cumulative level 2 replaces level 1; going back to level 1 is refused.
      const r2 = await applyTo(probe.pid, level2);
      assert.equal(r2.state, 'applied');
      const s = await status(probe.pid);
      assert.deepEqual(
        s.patches.map((p) => [p.patchId, p.state]),
        [[`${level1.payload.patchId}-2`, 'applied']],
      );
      assert.equal((await probe.check(checkPath, dir)).exploit, false);
      await assert.rejects(applyTo(probe.pid, good), { code: 'E_APPLY' });
    } finally {
      await probe.stop();
    }
  });
});

function resignPayload(payload: Bundle['payload']): Buffer {
  return Buffer.from(serializeBundle(signBundle(payload, loadPrivateKey(key.privateKeyPem))));
}
