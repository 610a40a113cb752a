/**
 * Zero-downtime benchmark (issue 6): an Express service under autocannon load gets a hotpatch
 * mid-run. Reports failed requests (must be 0) and p99/max latency in the second around the
 * apply against the seconds before it. Prints a table; writes .cache/bench/zero-downtime.json.
 *   node packages/e2e/dist/bench/zero-downtime.js [--seconds N]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo } from '@hotpatch/runtime';
import autocannon from 'autocannon';
import { advisoryOf, buildSigned, cacheDir, installApp } from '../testing/advisories.js';
import { nodeBinaries } from '../testing/nodes.js';
import { registerFile } from '../testing/processes.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10;
const appFile = fileURLToPath(new URL('./app.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'hotpatch-zdt-'));
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(home, 'k.pub');
writeFileSync(keyFile, key.publicKeyPem);

function start(node: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(node, ['--import', registerFile, appFile], {
    env: {
      ...process.env,
      BENCH_APP_DIR: dir,
      BENCH_MODULES: '0',
      HOTPATCH_HOME: home,
      HOTPATCH_TRUSTED_KEYS: keyFile,
      HOTPATCH_SERVICE: `zdt-${node}`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`app exited ${c}`)));
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
  });
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const dir = installApp('express', '4.19.2');
  const bundle = (await buildSigned(advisoryOf('express@4.19.2'), key)).bytes;
  const rows: Record<string, unknown>[] = [];
  for (const node of nodeBinaries().filter((n) => n.major === 20 || n.major === 26)) {
    const { child, port } = await start(node.bin, dir);
    const samples: Array<{ t: number; ms: number }> = [];
    const t0 = performance.now();
    let applyAt = 0;
    let applyMs = 0;
    let applyState = '';
    const applyTimer = setTimeout(
      async () => {
        applyAt = performance.now() - t0;
        const r = await applyTo(child.pid!, bundle);
        applyMs = performance.now() - t0 - applyAt;
        applyState = r.state;
      },
      (seconds * 1000) / 2,
    );
    const out = await autocannon({
      url: `http://127.0.0.1:${port}/`,
      connections: 20,
      duration: seconds,
      setupClient(client) {
        client.on('response', (_status: number, _bytes: number, responseTime: number) => {
          samples.push({ t: performance.now() - t0, ms: responseTime });
        });
      },
    });
    clearTimeout(applyTimer);
    const around = samples.filter((s) => s.t >= applyAt - 500 && s.t <= applyAt + 500).map((s) => s.ms);
    const before = samples.filter((s) => s.t >= 1000 && s.t < applyAt - 500).map((s) => s.ms);
    const failed = out.errors + out.timeouts + out.non2xx;
    const row = {
      node: node.major,
      requests: out.requests.total,
      failed,
      applyState,
      applyMs: Math.round(applyMs),
      p99BeforeMs: pct(before, 99),
      maxBeforeMs: Math.max(0, ...before),
      p99AroundApplyMs: pct(around, 99),
      maxAroundApplyMs: Math.max(0, ...around),
    };
    rows.push(row);
    console.log(row);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    if (failed !== 0 || applyState !== 'applied') process.exitCode = 1;
  }
  writeFileSync(
    join(cacheDir('bench'), 'zero-downtime.json'),
    `${JSON.stringify({ seconds, rows }, null, 2)}\n`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
