/**
 * Fault suite, runtime side (issue 13): reverts as atomic as applies, all-or-nothing applies,
 * a full disk in HOTPATCH_HOME, and a status derived from the running code. Real processes on
 * LiveEdit (Node 20, 24: HOTPATCH_ENGINE=liveedit, where a suspended function can block a change)
 * and the redirect engine (Node 26, the default everywhere), real bundles from the builder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Bundle,
  generateSigningKey,
  loadPrivateKey,
  parseBundle,
  serializeBundle,
  signBundle,
} from '@hotpatch/core';
import { applyTo, revertIn, status } from '@hotpatch/runtime';
import {
  buildLocal,
  HOLD_MS,
  sleep,
  splitFiles,
  twoFunctions,
  until,
  writeChecks,
  writePackage,
} from './testing/faults.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-faults-'));
process.env.HOTPATCH_HOME = home; // the client finds sockets there
const key = generateSigningKey();
const keyFile = join(home, 'trusted.pub');
writeFileSync(keyFile, key.publicKeyPem);

// One file with a and b close together; the same functions split over two files.
const single = { v1: join(home, 'single/v1'), v2: join(home, 'single/v2') };
const split = { v1: join(home, 'split/v1'), v2: join(home, 'split/v2') };
let singleBundle: Buffer;
let splitBundle: Buffer;
let singleChecks: { state: string; hold: string };
let splitChecks: { state: string; hold: string };

before(async () => {
  writePackage(single.v1, 'fault-single', '1.0.0', { 'index.js': twoFunctions('old') });
  writePackage(single.v2, 'fault-single', '1.0.1', { 'index.js': twoFunctions('new') });
  writePackage(split.v1, 'fault-split', '1.0.0', splitFiles('old'));
  writePackage(split.v2, 'fault-split', '1.0.1', splitFiles('new'));
  singleBundle = await buildLocal(single.v1, single.v2, key);
  splitBundle = await buildLocal(split.v1, split.v2, key);
  singleChecks = writeChecks(single.v1, './index.js');
  splitChecks = writeChecks(split.v1, './index.js');
});

after(() => process.env.KEEP_HOME || rmSync(home, { recursive: true, force: true }));

const nodes = nodeBinaries().filter((n) => [20, 24, 26].includes(n.major));
/** Services named `…-<node major>` run LiveEdit below Node 26 (the engine a suspended function can block). */
const env = (service: string, extra: NodeJS.ProcessEnv = {}) => {
  const major = Number(/-(\d+)$/.exec(service)?.[1] ?? 0);
  return {
    ...process.env,
    HOTPATCH_HOME: home,
    HOTPATCH_TRUSTED_KEYS: keyFile,
    HOTPATCH_SERVICE: service,
    ...(major > 0 && major < 26 ? { HOTPATCH_ENGINE: 'liveedit' } : {}),
    ...extra,
  };
};
const patchIdOf = (b: Buffer) => parseBundle(b).payload.patchId;
const resign = (payload: Bundle['payload']) =>
  Buffer.from(serializeBundle(signBundle(payload, loadPrivateKey(key.privateKeyPem))));

/** [b is old, a is old] as the process runs them now. */
async function code(probe: Probe, checks: { state: string }, dir: string, inWorker = false) {
  const r = await probe.check(checks.state, dir, { inWorker });
  return [r.exploit ? 'old-b' : 'new-b', r.normal ? 'old-a' : 'new-a'];
}

async function patchState(pid: number, patchId: string) {
  return (await status(pid)).patches.find((p) => p.patchId === patchId);
}

describe('1. a revert is all or nothing, and status says what runs', () => {
  for (const node of nodes) {
    for (const [name, fx, checks] of [
      ['one file, two functions', single, () => singleChecks, () => singleBundle],
      ['two files', split, () => splitChecks, () => splitBundle],
    ] as const) {
      test(`Node ${node.major}, ${name}: a revert blocked by a suspended function changes nothing, is pending, then completes`, async () => {
        const bundle = (fx === single ? singleBundle : splitBundle) as Buffer;
        const probe = new Probe(node.bin, env(`revert-${fx === single ? 's' : 'm'}-${node.major}`));
        try {
          assert.deepEqual(await code(probe, checks(), fx.v1), ['old-b', 'old-a']);
          assert.equal((await applyTo(probe.pid, bundle)).state, 'applied');
          assert.deepEqual(await code(probe, checks(), fx.v1), ['new-b', 'new-a']);
          const patchId = patchIdOf(bundle);

          await probe.check(checks().hold, fx.v1); // a() now waits in an await, on the new code
          const res = await revertIn(probe.pid, patchId, 300);
          if (node.major >= 26) {
            // The redirect engine switches all slots at once; the suspended call ends on its code.
            assert.equal(res.state, 'reverted');
            assert.deepEqual(await code(probe, checks(), fx.v1), ['old-b', 'old-a']);
            return;
          }
          assert.equal(res.state, 'revert-pending', JSON.stringify(res));
          assert.match(res.reason ?? '', /running or suspended/);
          // Nothing changed: both functions still run the patch, and status says so, verified.
          assert.deepEqual(await code(probe, checks(), fx.v1), ['new-b', 'new-a']);
          const pending = await patchState(probe.pid, patchId);
          assert.equal(pending?.state, 'revert-pending');
          assert.match(pending?.reason ?? '', /running or suspended/);
          // Once a() has returned, the runtime's retry reverts everything.
          const gone = await until(async () => !(await patchState(probe.pid, patchId)), HOLD_MS + 4000);
          assert.ok(gone, 'reverted by the retry');
          assert.deepEqual(await code(probe, checks(), fx.v1), ['old-b', 'old-a']);
          const files = (await status(probe.pid)).packages.flatMap((p) => p.files);
          assert.ok(
            files.length > 0 && files.every((f) => f.patchId === null),
            'every file back to its baseline',
          );
        } finally {
          await probe.stop();
        }
      });
    }
  }

  const liveEdit = nodes.filter((n) => n.major < 26);
  for (const node of liveEdit.slice(0, 1)) {
    test(`Node ${node.major}: a worker thread that cannot revert yet keeps the process revert pending`, async () => {
      const probe = new Probe(node.bin, env(`revert-worker-${node.major}`));
      try {
        assert.deepEqual(await code(probe, singleChecks, single.v1, true), ['old-b', 'old-a']);
        assert.equal((await applyTo(probe.pid, singleBundle)).state, 'applied');
        assert.deepEqual(await code(probe, singleChecks, single.v1, true), ['new-b', 'new-a']);
        await probe.check(singleChecks.hold, single.v1, { inWorker: true });
        const res = await revertIn(probe.pid, patchIdOf(singleBundle), 300);
        assert.equal(res.state, 'revert-pending', JSON.stringify(res));
        assert.match(res.reason ?? '', /^thread \d+: .*running or suspended/);
        assert.deepEqual(
          await code(probe, singleChecks, single.v1, true),
          ['new-b', 'new-a'],
          'worker unchanged',
        );
        const done = await until(async () => {
          const s = (await status(probe.pid)) as Awaited<ReturnType<typeof status>> & {
            threads: Array<{ result?: { patches: unknown[] } }>;
          };
          return s.threads.every((t) => t.result?.patches.length === 0);
        }, HOLD_MS + 4000);
        assert.ok(done, 'the worker reverted once the call returned');
        assert.deepEqual(await code(probe, singleChecks, single.v1, true), ['old-b', 'old-a']);
      } finally {
        await probe.stop();
      }
    });

    test(`Node ${node.major}: status checks the running code, not a flag`, async () => {
      const probe = new Probe(node.bin, env(`verify-${node.major}`));
      const tamper = join(home, 'tamper.cjs');
      // Another debugger client puts the original source back behind the runtime's back.
      writeFileSync(
        tamper,
        `const { Session } = require('node:inspector');
const { readFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
module.exports = {
  exploit(load) {
    const file = require.resolve(${JSON.stringify(join(single.v1, 'index.js'))});
    const s = new Session(); s.connect();
    let id = null;
    s.on('Debugger.scriptParsed', (m) => { if (m.params.url === pathToFileURL(file).href || m.params.url === file) id = m.params.scriptId; });
    s.post('Debugger.enable');
    let status = null;
    s.post('Debugger.setScriptSource', { scriptId: id, scriptSource: readFileSync(file, 'utf8') }, (e, r) => { status = e ? e.message : r.status; });
    s.disconnect();
    return status;
  },
  normal() { return true; },
};`,
      );
      try {
        await code(probe, singleChecks, single.v1);
        assert.equal((await applyTo(probe.pid, singleBundle)).state, 'applied');
        assert.equal((await patchState(probe.pid, patchIdOf(singleBundle)))?.state, 'applied');
        await probe.check(tamper, single.v1);
        assert.deepEqual(await code(probe, singleChecks, single.v1), ['old-b', 'old-a'], 'tampered back');
        const p = await patchState(probe.pid, patchIdOf(singleBundle));
        assert.equal(p?.state, 'failed');
        assert.match(p?.reason ?? '', /differs from the patched source|still runs the old code/);
      } finally {
        await probe.stop();
      }
    });
  }
});

describe('2. an apply is all or nothing', () => {
  for (const node of nodes.filter((n) => n.major !== 24)) {
    test(`Node ${node.major}: two entries for one file are refused before anything changes`, async () => {
      const probe = new Probe(node.bin, env(`dup-${node.major}`));
      try {
        await code(probe, singleChecks, single.v1);
        const b = parseBundle(singleBundle);
        const dup = resign({
          ...b.payload,
          files: [b.payload.files[0]!, structuredClone(b.payload.files[0]!)],
        });
        await assert.rejects(applyTo(probe.pid, dup), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'E_BUNDLE_CORRUPT');
          assert.match(e.message, /a second entry for the same file/);
          return true;
        });
        assert.deepEqual(await code(probe, singleChecks, single.v1), ['old-b', 'old-a']);
        assert.deepEqual((await status(probe.pid)).patches, []);
        assert.deepEqual(
          readdirSync(join(home, 'active')).filter((d) => d.startsWith('dup-')),
          [],
        );
      } finally {
        await probe.stop();
      }
    });

    test(`Node ${node.major}: a later file that does not fit undoes the earlier one; the store is as before`, async () => {
      const service = `later-${node.major}`;
      const probe = new Probe(node.bin, env(service));
      try {
        await code(probe, splitChecks, split.v1);
        const b = parseBundle(splitBundle);
        const files = structuredClone(b.payload.files);
        assert.equal(files.length, 2, 'both files changed');
        // The second file does not fit the running code: only the engine can tell (LiveEdit: its
        // edits no longer give the recorded result; redirect: its function is not there).
        if (node.major < 26) files[1]!.patchedSha256 = 'f'.repeat(64);
        else {
          files[1]!.functions[0]!.key = 'nowhere';
          files[1]!.changes.find((c) => c.verdict === 'live')!.name = 'nowhere';
        }
        const bad = resign({ ...b.payload, files });
        await assert.rejects(applyTo(probe.pid, bad), (e: Error & { code?: string }) => {
          assert.match(e.message, /not applied, nothing changed/);
          return true;
        });
        assert.deepEqual(
          await code(probe, splitChecks, split.v1),
          ['old-b', 'old-a'],
          'first file untouched',
        );
        assert.deepEqual((await status(probe.pid)).patches, []);
        assert.deepEqual(readdirSync(join(home, 'active', service)), [], 'nothing stored, no temp file');
        // And the good bundle still applies.
        assert.equal((await applyTo(probe.pid, splitBundle)).state, 'applied');
        assert.deepEqual(await code(probe, splitChecks, split.v1), ['new-b', 'new-a']);
      } finally {
        await probe.stop();
      }
    });
  }
});

describe('3. a full disk in HOTPATCH_HOME: stored first, or nothing changes', () => {
  const mnt = join(home, 'small');
  let mounted = false;
  before(() => {
    execFileSync('mkdir', ['-p', mnt]);
    // A real, small file system (as root; CI runs as root).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', mnt]);
    mounted = true;
  });
  after(() => {
    if (mounted) execFileSync('umount', [mnt]);
  });

  for (const node of nodes.filter((n) => n.major !== 24)) {
    test(`Node ${node.major}: ENOSPC refuses the apply with nothing changed and no temp file; a restart finds what was stored`, async () => {
      const service = `full-${node.major}`;
      const e = { ...env(service), HOTPATCH_HOME: mnt };
      const filler = join(mnt, `filler-${node.major}`);
      process.env.HOTPATCH_HOME = mnt;
      try {
        const probe = new Probe(node.bin, e);
        try {
          await code(probe, singleChecks, single.v1);
          // Fill the file system to the last block.
          execFileSync('sh', ['-c', `dd if=/dev/zero of=${filler} bs=4k 2>/dev/null; true`]);
          const refused = await applyTo(probe.pid, singleBundle).then(
            (r) => assert.fail(`applied on a full disk: ${JSON.stringify(r)}`),
            (err: Error & { code?: string }) => err,
          );
          assert.deepEqual(await code(probe, singleChecks, single.v1), ['old-b', 'old-a'], 'not applied');
          assert.deepEqual((await status(probe.pid)).patches, []);
          const stored = join(mnt, 'active', service);
          assert.deepEqual(existsSync(stored) ? readdirSync(stored) : [], [], 'no file, no temp file');
          assert.equal(refused.code, 'E_IO');
          assert.match(refused.message, /ENOSPC \(no space left on device\)/);

          rmSync(filler);
          assert.equal((await applyTo(probe.pid, singleBundle)).state, 'applied');
          assert.equal(readdirSync(stored).length, 1);
        } finally {
          rmSync(filler, { force: true });
          await probe.stop();
        }
        // Restarted, the service comes back patched from its first call.
        const again = new Probe(node.bin, e);
        try {
          assert.deepEqual(await code(again, singleChecks, single.v1), ['new-b', 'new-a']);
          assert.equal((await status(again.pid)).patches[0]?.state, 'applied');
        } finally {
          await again.stop();
        }
      } finally {
        process.env.HOTPATCH_HOME = home;
      }
    });
  }

  test('a file size limit (RLIMIT_FSIZE, EFBIG) is refused the same way', async () => {
    const service = 'fsize';
    const probe = new Probe(process.execPath, env(service), { wrap: ['prlimit', '--fsize=1024', '--'] });
    try {
      await code(probe, singleChecks, single.v1);
      assert.ok(singleBundle.length > 1024);
      await assert.rejects(applyTo(probe.pid, singleBundle), /EFBIG \(file too large/);
      assert.deepEqual(await code(probe, singleChecks, single.v1), ['old-b', 'old-a']);
      assert.deepEqual((await status(probe.pid)).patches, []);
      const stored = join(home, 'active', service);
      assert.deepEqual(existsSync(stored) ? readdirSync(stored) : [], []);
      assert.ok(probe.alive(), 'SIGXFSZ did not kill the app');
    } finally {
      await probe.stop();
    }
  });

  test('a stored patch built for another calling convention is not re-applied at start, and status says why', async () => {
    const node = nodes[nodes.length - 1]!;
    const service = 'stored-convention';
    const payload = parseBundle(singleBundle).payload;
    const dir = join(home, 'active', service);
    mkdirSync(dir, { recursive: true });
    // What an older or newer builder would have stored: signed by a trusted key, another convention.
    writeFileSync(join(dir, 'stored.hpatch'), resign({ ...payload, convention: payload.convention + 1 }));
    const probe = new Probe(node.bin, env(service));
    try {
      assert.deepEqual(await code(probe, singleChecks, single.v1), ['old-b', 'old-a']);
      const st = await status(probe.pid);
      assert.deepEqual(st.patches, []);
      assert.match(
        (st.problems ?? []).join('\n'),
        /stored patch stored\.hpatch ignored: .*calling convention/,
      );
    } finally {
      await probe.stop();
    }
  });

  test('a revert is stored first too: a restart while it is pending comes back unpatched', async () => {
    const node = nodes.find((n) => n.major < 26)!;
    const e = env('revert-store', { HOTPATCH_ENGINE: 'liveedit' });
    const probe = new Probe(node.bin, e);
    try {
      await code(probe, singleChecks, single.v1);
      assert.equal((await applyTo(probe.pid, singleBundle)).state, 'applied');
      await probe.check(singleChecks.hold, single.v1);
      assert.equal((await revertIn(probe.pid, patchIdOf(singleBundle), 100)).state, 'revert-pending');
      assert.deepEqual(readdirSync(join(home, 'active', 'revert-store')), []);
    } finally {
      await probe.stop();
    }
    const again = new Probe(node.bin, e);
    try {
      assert.deepEqual(await code(again, singleChecks, single.v1), ['old-b', 'old-a']);
      await sleep(10);
      assert.deepEqual((await status(again.pid)).patches, []);
    } finally {
      await again.stop();
    }
  });
});
