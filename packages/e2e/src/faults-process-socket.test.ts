/**
 * Fault suite, process side (issues 13 and 11): the control socket stays fast, bounded and cleaned up. Real apps, real sockets, the real CLI.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type RuntimeStatus, socketPath, status } from '@hotpatch/runtime';
import { httpApp, sleep, until } from './testing/faults.js';
import { appDir, baseEnv, hotpatch, start, useProcessFaults } from './testing/process-faults.js';

useProcessFaults();

/** CPU seconds a process has used (user + system, /proc): unlike wall time, not stretched by a busy machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15) in clock ticks
}

/** Sends raw bytes to a process's control socket; resolves with every answer line until it closes. */
function raw(pid: number, data: Buffer | string, expect: number): Promise<{ lines: string[]; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const s = connect(socketPath(pid));
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer in 60 s: ${buf.slice(0, 200)}`));
    }, 60_000);
    s.on('connect', () => s.write(data));
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= expect) {
        clearTimeout(timer);
        s.destroy();
        resolve({ lines, ms: Date.now() - t0 });
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ lines: buf.split('\n').filter(Boolean), ms: Date.now() - t0 });
    });
  });
}

describe('5. the control socket', () => {
  test('a 20 MiB request is read in linear time without stalling the app; 40 MiB is refused clearly', async () => {
    const app = start(baseEnv());
    await app.port;
    await until(() => existsSync(socketPath(app.pid)), 5000);
    // The app keeps answering HTTP while the runtime reads the request.
    let worst = 0;
    let stop = false;
    const pinger = (async () => {
      while (!stop) {
        const t0 = Date.now();
        await app.get();
        worst = Math.max(worst, Date.now() - t0);
        await sleep(20);
      }
    })();
    const big = `${JSON.stringify({ op: 'apply', bundle: Buffer.alloc(15 << 20, 1).toString('base64') })}\n`;
    assert.ok(big.length > 20 << 20);
    const cpu0 = cpuSeconds(app.pid);
    const r = await raw(app.pid, big, 1);
    const cpu = cpuSeconds(app.pid) - cpu0;
    const answer = JSON.parse(r.lines[0]!) as { ok: boolean; code: string };
    assert.equal(answer.ok, false);
    assert.equal(answer.code, 'E_BUNDLE_CORRUPT');
    // Quadratic buffering took about 7 s for 16 MiB here (66 s for 40 MiB); decoding 20 MiB of JSON
    // and base64 takes ~1.5 s. Bounded in the app's CPU time, which a busy machine does not stretch
    // (the wall time did: 9.3 s once under load).
    assert.ok(cpu < 5, `answered after ${cpu.toFixed(2)} s of the app's CPU (${r.ms} ms wall)`);
    const huge = Buffer.alloc(40 << 20, 0x61);
    const cpu1 = cpuSeconds(app.pid);
    const r2 = await raw(app.pid, huge, 1);
    const cpu2 = cpuSeconds(app.pid) - cpu1;
    const answer2 = JSON.parse(r2.lines[0]!) as { ok: boolean; error: string };
    assert.match(answer2.error, /request too large: more than 32 MiB/);
    assert.ok(cpu2 < 5, `refused after ${cpu2.toFixed(2)} s of the app's CPU (${r2.ms} ms wall)`);
    stop = true;
    await pinger;
    // The app is held up while the request is decoded, not for as long as it takes to arrive.
    assert.ok(worst < Math.max(4000, r.ms), `the app stalled ${worst} ms`);
  });

  test('pipelined requests get their ids back', async () => {
    const app = start(baseEnv());
    await app.port;
    await until(() => existsSync(socketPath(app.pid)), 5000);
    const r = await raw(app.pid, '{"id":"first","op":"status"}\n{"id":7,"op":"nope"}\n{"op":"status"}\n', 3);
    const answers = r.lines.map((l) => JSON.parse(l) as { id?: unknown; ok: boolean });
    assert.deepEqual(answers.map((a) => a.id).sort(), [7, 'first', undefined].sort());
    assert.equal(answers.find((a) => a.id === 7)?.ok, false);
    assert.equal(answers.find((a) => a.id === 'first')?.ok, true);
  });

  const handlerApp = join(appDir, 'handler.js');
  before(() => {
    writeFileSync(
      handlerApp,
      `${httpApp}process.on('SIGTERM', () => console.error('app: SIGTERM ignored'));\n`,
    );
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    test(`${sig}: an app without a handler still dies of it, and its socket is removed`, async () => {
      const app = start(baseEnv());
      await app.port;
      await until(() => existsSync(socketPath(app.pid)), 5000);
      app.child.kill(sig);
      const exit = await app.exited();
      assert.deepEqual(exit, { code: null, signal: sig });
      assert.equal(existsSync(socketPath(app.pid)), false, 'no stale socket');
    });
  }
  test("an app's own SIGTERM handler decides; the socket stays while the app runs", async () => {
    const app = start(baseEnv(), handlerApp);
    await app.port;
    await until(() => existsSync(socketPath(app.pid)), 5000);
    app.child.kill('SIGTERM');
    await until(() => app.stderr.includes('SIGTERM ignored'), 5000);
    await sleep(300);
    assert.ok(app.alive(), 'the app chose to keep running');
    assert.equal((await status(app.pid)).pid, app.pid, 'still reachable');
    app.child.kill('SIGINT');
    assert.deepEqual(await app.exited(), { code: null, signal: 'SIGINT' });
    assert.equal(existsSync(socketPath(app.pid)), false);
  });

  test('ps skips and removes sockets nobody listens on (dead pid, reused pid)', async () => {
    const dead = start(baseEnv());
    await dead.port;
    await until(() => existsSync(socketPath(dead.pid)), 5000);
    await dead.stop(); // SIGKILL: the socket file stays behind
    assert.ok(existsSync(socketPath(dead.pid)));
    // A live process that is not ours, under a pid whose socket file is stale.
    const other: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const stale = socketPath(other.pid!);
      const holder = spawn(
        process.execPath,
        ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise((r) => holder.stdout!.once('data', r));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      assert.ok(existsSync(stale));
      const live = start(baseEnv());
      await live.port;
      await until(() => existsSync(socketPath(live.pid)), 5000);
      const ps = await hotpatch(['ps', '--json']);
      assert.equal(ps.status, 0, ps.stderr);
      const pids = (JSON.parse(ps.stdout) as RuntimeStatus[]).map((s) => s.pid);
      assert.ok(pids.includes(live.pid));
      assert.ok(!pids.includes(dead.pid) && !pids.includes(other.pid!));
      assert.equal(existsSync(socketPath(dead.pid)), false, 'dead pid socket removed');
      assert.equal(existsSync(stale), false, 'reused pid socket removed');
    } finally {
      other.kill('SIGKILL');
    }
  });
});
