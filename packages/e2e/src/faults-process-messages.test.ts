/**
 * Fault suite, process side (issues 13 and 11): clear words for what goes wrong. Real apps, real sockets, the real CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { applyTo, socketPath, status } from '@hotpatch/runtime';
import { httpApp, until } from './testing/faults.js';
import {
  appDir,
  baseEnv,
  bundle,
  cli,
  home,
  hotpatch,
  keyFile,
  start,
  useProcessFaults,
  v1,
  v2,
} from './testing/process-faults.js';

useProcessFaults();

describe('6. clear words for what goes wrong', () => {
  test("another user: status and ps say permission denied, not 'not running' or 'bug'", async () => {
    const app = start(baseEnv());
    await app.port;
    await until(() => existsSync(socketPath(app.pid)), 5000);
    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    const st = await hotpatch(['status', '--pid', String(app.pid)], { wrap: nobody });
    assert.equal(st.status, 2, st.stderr);
    assert.match(st.stderr, /permission denied.*run as the process's user/);
    assert.equal(st.stderr.trim().split('\n').length, 1);
    const ps = await hotpatch(['ps'], { wrap: nobody });
    assert.equal(ps.status, 2, ps.stderr);
    assert.match(ps.stderr, /permission denied reading .*run as the processes' user/);
    assert.doesNotMatch(ps.stderr, /bug/);
  });

  test('another version of the target loaded: says which one is loaded and which the patch is for', async () => {
    writeFileSync(
      join(appDir, 'loads-v2.js'),
      `require(${JSON.stringify(join(v2, 'index.js'))});\n${httpApp}`,
    );
    const app = start(baseEnv({ HOTPATCH_SERVICE: 'other-version' }), join(appDir, 'loads-v2.js'));
    await app.port;
    const r = await applyTo(app.pid, bundle);
    assert.equal(r.state, 'staged');
    assert.match(
      r.reason ?? '',
      /fault-proc 1\.0\.1 is loaded in this process; this patch is for fault-proc 1\.0\.0/,
    );
    const p = (await status(app.pid)).patches[0];
    assert.match(p?.reason ?? '', /fault-proc 1\.0\.1 is loaded/);
  });

  test('apply --pid <launcher> names the app pid; run --trust <not a key> is one line, exit 2', async () => {
    const loadsV1 = join(appDir, 'loads-v1.js');
    writeFileSync(loadsV1, `require(${JSON.stringify(join(v1, 'index.js'))});\n${httpApp}`);
    const launcher = spawn(
      process.execPath,
      [cli, 'run', '--trust', keyFile, '--', process.execPath, loadsV1],
      {
        env: { ...process.env, HOTPATCH_HOME: home, HOTPATCH_SERVICE: 'launched' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const port = await new Promise<number>((resolve) => {
        let out = '';
        launcher.stdout!.on('data', (d) => {
          out += String(d);
          const m = /PORT (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
      });
      const appPid = Number((await (await fetch(`http://127.0.0.1:${port}/`)).text()).split(' ')[1]);
      const bundleFile = join(home, 'b.hpatch');
      writeFileSync(bundleFile, bundle);
      const r = await hotpatch(['apply', bundleFile, '--pid', String(launcher.pid)]);
      assert.equal(r.status, 2);
      assert.match(
        r.stderr,
        new RegExp(`pid ${launcher.pid} is the hotpatch launcher; the app is pid ${appPid}`),
      );
      // Under `hotpatch run` the preload comes through NODE_OPTIONS, which reaches every worker
      // thread, the runtime's own checker too: that thread must not join the apply as a thread of
      // the service (it did, and its store raced the main thread's: "pending … ENOENT", exit 3).
      const ok = await hotpatch(['apply', bundleFile, '--pid', String(appPid), '--json']);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      const applied = JSON.parse(ok.stdout) as { state: string; threads: unknown[] };
      assert.equal(applied.state, 'applied');
      assert.deepEqual(applied.threads, [], 'no thread of the service but the main one');
      assert.deepEqual(
        (await status(appPid)).patches.map((p) => p.state),
        ['applied'],
      );
    } finally {
      launcher.kill('SIGTERM');
      await new Promise((r) => launcher.once('exit', r));
    }
    writeFileSync(join(home, 'garbage.pub'), 'this is not a key\n');
    const bad = await hotpatch([
      'run',
      '--trust',
      join(home, 'garbage.pub'),
      '--',
      process.execPath,
      '-e',
      '1',
    ]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /garbage\.pub is not a PEM public key/);
  });
});
