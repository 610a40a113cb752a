/**
 * The health monitor in real processes: HTTP responses by status class through
 * diagnostics_channel, windows before and after a mark, and crash semantics left as they are (an
 * uncaught exception or unhandled rejection still ends the process with its usual exit status).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HealthMonitor } from './health.js';

const healthJs = fileURLToPath(new URL('./health.js', import.meta.url));

test('responses by status class, in the window they fall in; loop p99 measured', async () => {
  const m = new HealthMonitor({ bucketMs: 100 });
  m.start();
  let status = 200;
  const srv = createServer((_q, r) => {
    r.statusCode = status;
    r.end('x');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/`;
  const hit = async (n: number) => {
    for (let i = 0; i < n; i++) await (await fetch(url)).arrayBuffer();
  };
  try {
    const t0 = Date.now();
    await hit(5);
    const mid = m.mark();
    status = 503;
    await hit(3);
    status = 404;
    await hit(2);
    await new Promise((r) => setTimeout(r, 150));
    const end = m.mark();
    const before = m.window(t0 - 1000, mid);
    const after = m.window(mid, end);
    assert.equal(before.responses.s2xx, 5);
    assert.equal(before.responses.s5xx, 0);
    assert.deepEqual(after.responses, { s1xx: 0, s2xx: 0, s3xx: 0, s4xx: 2, s5xx: 3 });
    assert.ok(after.ms >= 150 && after.ms < 5000, `after window covers ${after.ms} ms`);
    assert.ok(after.loopP99Ms !== null && after.loopP99Ms > 0, 'loop p99 measured');
  } finally {
    m.stop();
    srv.close();
  }
});

const child = (code: string, args: string[] = []) =>
  spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 20_000,
  });

test('an uncaught exception still crashes the process (counted, not swallowed)', () => {
  const r = child(
    `import { HealthMonitor } from ${JSON.stringify(healthJs)};
     const m = new HealthMonitor(); m.start();
     process.on('exit', () => { const w = m.window(0, m.mark()); process.stderr.write('COUNT ' + w.uncaughtExceptions + '\\n'); });
     setTimeout(() => { throw new Error('boom'); }, 10);`,
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /Error: boom/);
  assert.match(r.stderr, /COUNT 1/);
});

test('an unhandled rejection still crashes the process by default; with --unhandled-rejections=warn it is counted and the process goes on', () => {
  const code = `import { HealthMonitor } from ${JSON.stringify(healthJs)};
     const m = new HealthMonitor(); m.start();
     process.on('exit', () => { const w = m.window(0, m.mark()); process.stderr.write('REJECTIONS ' + w.unhandledRejections + '\\n'); });
     Promise.reject(new Error('nobody catches me'));
     setTimeout(() => { process.stderr.write('STILL RUNNING\\n'); m.stop(); }, 100);`;
  const crash = child(code);
  assert.equal(crash.status, 1, crash.stderr);
  assert.match(crash.stderr, /nobody catches me/);
  assert.match(crash.stderr, /REJECTIONS 1/);
  assert.doesNotMatch(crash.stderr, /STILL RUNNING/);
  const warn = child(code, ['--unhandled-rejections=warn']);
  assert.equal(warn.status, 0, warn.stderr);
  assert.match(warn.stderr, /STILL RUNNING/);
  assert.match(warn.stderr, /REJECTIONS 1/);
});
