/**
 * Fault suite, process side (issues 13 and 11): start-up problems never take the app down. Real apps, real sockets, the real CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyTo, status } from '@hotpatch/runtime';
import { sleep } from './testing/faults.js';
import {
  appFile,
  baseEnv,
  bundle,
  home,
  hotpatchLines,
  node26,
  start,
  useProcessFaults,
} from './testing/process-faults.js';

useProcessFaults();

describe('4. start-up problems never take the app down', () => {
  const notDir = join(home, 'a-file');
  const ro = join(home, 'read-only');
  let roMounted = false;
  before(() => {
    writeFileSync(notDir, 'not a directory');
    writeFileSync(join(home, 'garbage.pub'), 'this is not a key\n');
    mkdirSync(ro, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    roMounted = true;
  });
  after(() => {
    if (roMounted) execFileSync('umount', [ro]);
  });

  const cases: Array<[string, () => NodeJS.ProcessEnv, RegExp, boolean]> = [
    ['HOTPATCH_HOME below a regular file', () => ({ HOTPATCH_HOME: join(notDir, 'home') }), /ENOTDIR/, false],
    ['HOTPATCH_HOME on a read-only file system', () => ({ HOTPATCH_HOME: ro }), /EROFS/, false],
    [
      'a trusted key that does not exist',
      () => ({ HOTPATCH_TRUSTED_KEYS: join(home, 'missing.pub') }),
      /missing\.pub cannot be read \(ENOENT\)/,
      true,
    ],
    [
      'a trusted key that is a directory',
      () => ({ HOTPATCH_TRUSTED_KEYS: home }),
      /cannot be read \(EISDIR\)/,
      true,
    ],
    [
      'a trusted key that is not a key',
      () => ({ HOTPATCH_TRUSTED_KEYS: join(home, 'garbage.pub') }),
      /garbage\.pub is not a PEM public key/,
      true,
    ],
    [
      'a broken PEM in HOTPATCH_TRUSTED_KEYS',
      () => ({ HOTPATCH_TRUSTED_KEYS: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }),
      /HOTPATCH_TRUSTED_KEYS is not a PEM public key/,
      true,
    ],
    [
      'HOTPATCH_ENGINE=bogus',
      () => ({ HOTPATCH_ENGINE: 'bogus' }),
      /HOTPATCH_ENGINE=bogus is not liveedit or redirect/,
      true,
    ],
    ['HOTPATCH_SERVER=not-a-url', () => ({ HOTPATCH_SERVER: 'not-a-url' }), /./, true],
  ];
  for (const [name, env, warning, reachable] of cases) {
    test(`${name}: the app serves, one warning line, no stack trace`, async () => {
      const app = start(
        baseEnv({ HOTPATCH_SERVICE: `start-${basename(name).replace(/\W+/g, '-')}`, ...env() }),
      );
      await app.port;
      assert.match(await app.get(), /^ok \d+$/);
      await sleep(500); // whatever the runtime does asynchronously has had its chance
      assert.match(await app.get(), /^ok \d+$/);
      assert.ok(app.alive());
      const lines = hotpatchLines(app.stderr);
      assert.ok(lines.length <= 1, `at most one warning line:\n${app.stderr}`);
      assert.doesNotMatch(app.stderr, /^\s+at /m, 'no stack trace');
      if (lines.length) assert.match(lines[0]!, warning);
      if (!reachable) {
        assert.equal(lines.length, 1, 'says why it cannot be controlled');
        assert.match(lines[0]!, /no control socket/);
        return;
      }
      const s = await status(app.pid);
      assert.ok(
        (s.problems ?? []).some((p) => warning.test(p)),
        JSON.stringify(s.problems),
      );
      if (env().HOTPATCH_TRUSTED_KEYS) {
        // No usable key: the bundle is refused, and the refusal says why.
        await assert.rejects(applyTo(app.pid, bundle), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'E_UNTRUSTED_KEY');
          assert.match(e.message, warning);
          return true;
        });
      }
    });
  }
});

const node26bin = node26?.bin;
if (node26bin) {
  test('Node 26: the runtime starts clean under the redirect engine with a bad variable', async () => {
    const app = start(baseEnv({ HOTPATCH_ENGINE: 'liveedit-please' }), appFile, { bin: node26bin });
    await app.port;
    assert.match(await app.get(), /^ok/);
    assert.equal(hotpatchLines(app.stderr).length, 1);
    assert.equal((await status(app.pid)).engine, 'redirect');
  });
}
