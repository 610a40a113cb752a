/**
 * A module's sha256 from the instrumentation pack (instrument-cache.ts, `packedSha`), with real
 * processes on every Node version: a restart takes the sha256 of a module whose text equals what
 * the pack holds for its file, and a hotpatch applies over it; a file changed on disk since the
 * pack was written is hashed again, so a patch whose baseline is the old text is refused (never
 * reported applied over text it was not built for).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo } from '@hotpatch/runtime';
import { advisoryOf, buildSigned, checkFile, installApp } from './testing/advisories.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-pack-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = generateSigningKey();
const keyFile = join(dir, 'k.pub');
const minimist = advisoryOf('minimist@1.2.5');
const checkPath = checkFile(minimist); // the corpus's exploit check (CVE-2021-44906)

/** Whether a pack in `home` names `file` (written once start-up settles). */
function packNames(home: string, file: string): boolean {
  const packs = join(home, 'instrumented');
  if (!existsSync(packs)) return false;
  const found = readdirSync(packs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pack'));
  return found.some((f) => readFileSync(join(packs, f)).includes(`cjs:${file}`));
}

describe('a module’s sha256 from the instrumentation pack', () => {
  let bundle: Buffer;
  let fixed: string;
  before(async () => {
    writeFileSync(keyFile, key.publicKeyPem);
    bundle = (await buildSigned(minimist, key)).bytes;
    fixed = readFileSync(
      join(installApp('minimist', '1.2.6'), 'node_modules', 'minimist', 'index.js'),
      'utf8',
    );
  });

  for (const { major, bin } of nodeBinaries()) {
    it(`Node ${major}: taken for the text the pack holds (the patch applies), not for a file changed since (refused)`, async () => {
      const app = join(dir, `app-${major}`);
      cpSync(installApp('minimist', '1.2.5'), app, { recursive: true });
      const lib = join(app, 'node_modules', 'minimist', 'index.js');
      const home = join(dir, `home-${major}`);
      const env = {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: 'pack-identity',
      };
      process.env.HOTPATCH_HOME = home; // where applyTo finds the process's socket
      const first = new Probe(bin, env);
      try {
        assert.equal((await first.check(checkPath, app)).exploit, true);
        const deadline = Date.now() + 20_000;
        while (!packNames(home, lib) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        assert.ok(packNames(home, lib), 'the pack names minimist’s file');
      } finally {
        await first.stop();
      }

      const same = new Probe(bin, env);
      try {
        assert.equal((await same.check(checkPath, app)).exploit, true);
        assert.equal((await applyTo(same.pid, bundle)).state, 'applied');
        const fixedLive = await same.check(checkPath, app);
        assert.deepEqual([fixedLive.exploit, fixedLive.normal], [false, true]);
      } finally {
        await same.stop();
      }

      writeFileSync(lib, fixed); // replaced on disk: the pack still holds 1.2.5's text for this file
      const changed = new Probe(bin, env);
      try {
        assert.equal((await changed.check(checkPath, app)).exploit, false, 'the file’s new text runs');
        await assert.rejects(applyTo(changed.pid, bundle), /is not the baseline/);
      } finally {
        await changed.stop();
      }
    });
  }
});
