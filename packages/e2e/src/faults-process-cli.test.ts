/**
 * Fault suite, process side (issues 13 and 11): the local CLI lists and tells processes apart. Real apps, real sockets, the real CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { parseBundle } from '@hotpatch/core';
import { type RuntimeStatus, socketPath, status } from '@hotpatch/runtime';
import { httpApp, until, writePackage } from './testing/faults.js';
import {
  appFile,
  baseEnv,
  bundle,
  home,
  hotpatch,
  keyFile,
  start,
  useProcessFaults,
  v1,
} from './testing/process-faults.js';

useProcessFaults();

describe('7. the local CLI lists and tells processes apart', () => {
  test('status without --pid lists every local runtime; ps shows service, start, cwd and command', async () => {
    const cwdA = join(home, 'cwd-a');
    const cwdB = join(home, 'cwd-b');
    mkdirSync(cwdA, { recursive: true });
    mkdirSync(cwdB, { recursive: true });
    // Two services from one script, told apart by name, cwd and arguments.
    const a = start(baseEnv({ HOTPATCH_SERVICE: 'svc-a' }), appFile, { cwd: cwdA });
    const b = start(baseEnv({ HOTPATCH_SERVICE: 'svc-b' }), appFile, { cwd: cwdB });
    await Promise.all([a.port, b.port]);
    await until(() => existsSync(socketPath(a.pid)) && existsSync(socketPath(b.pid)), 5000);
    const st = await hotpatch(['status', '--json']);
    assert.equal(st.status, 0, st.stderr);
    const rows = JSON.parse(st.stdout) as RuntimeStatus[];
    const ra = rows.find((r) => r.pid === a.pid);
    const rb = rows.find((r) => r.pid === b.pid);
    assert.ok(ra && rb);
    assert.equal(ra.cwd, cwdA);
    assert.equal(rb.cwd, cwdB);
    assert.deepEqual(ra.argv?.slice(1), [appFile]);
    const human = await hotpatch(['status']);
    assert.match(human.stdout, new RegExp(`pid ${a.pid}  service svc-a`));
    assert.match(human.stdout, new RegExp(`pid ${b.pid}  service svc-b`));
    const ps = await hotpatch(['ps']);
    const lineA = ps.stdout.split('\n').find((l) => l.startsWith(`${a.pid}\t`));
    assert.ok(lineA?.includes('\tsvc-a\t') && lineA.includes(cwdA) && lineA.includes(appFile), ps.stdout);
  });

  test("the default service name is the app's package name; a restarted service finds patches stored under the old name", async () => {
    const pkgApp = join(home, 'named-app');
    writePackage(pkgApp, 'named-app', '2.0.0', {
      'index.js': `require(${JSON.stringify(join(v1, 'index.js'))});\n${httpApp}`,
      'worker.js': httpApp,
    });
    const env = { HOTPATCH_HOME: home, HOTPATCH_TRUSTED_KEYS: keyFile, HOTPATCH_SERVICE: '' };
    const main = start(env, join(pkgApp, 'index.js'));
    const worker = start(env, join(pkgApp, 'worker.js'));
    await Promise.all([main.port, worker.port]);
    await until(() => existsSync(socketPath(main.pid)) && existsSync(socketPath(worker.pid)), 5000);
    assert.equal((await status(main.pid)).service, 'named-app');
    assert.equal((await status(worker.pid)).service, 'named-app:worker.js');

    // A patch stored by an older runtime, under the old name (the script's last two path parts).
    const legacy = join(home, 'active', encodeURIComponent(`${basename(pkgApp)}/index.js`));
    mkdirSync(legacy, { recursive: true });
    const label = parseBundle(bundle).payload.target;
    writeFileSync(
      join(
        legacy,
        `${encodeURIComponent(`${label.name}@${'version' in label ? label.version : ''}`)}.hpatch`,
      ),
      bundle,
    );
    rmSync(join(home, 'active', 'named-app'), { recursive: true, force: true });
    await main.stop();
    const again = start(env, join(pkgApp, 'index.js'));
    await again.port;
    await until(() => existsSync(socketPath(again.pid)), 5000);
    const s = await status(again.pid);
    assert.equal(s.service, 'named-app');
    assert.equal(s.patches[0]?.state, 'applied', JSON.stringify(s.patches));
    assert.ok(existsSync(join(home, 'active', 'named-app')), 'carried over under the new name');
  });
});
