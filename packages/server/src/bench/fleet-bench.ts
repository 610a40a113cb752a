/**
 * Fleet benchmark: N simulated devices speak the real protocol (HTTP enrollment, WebSocket,
 * hello/facts/state messages) to a real server in its own process. Measures check-ins per
 * second (hello -> welcome for all devices at once), server memory per connected device, and
 * publish -> deploy -> applied on every device.
 *
 *   node packages/server/dist/bench/fleet-bench.js [--devices 1000] [--database-url URL]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBundle } from '@hotpatch/core';
import pg from 'pg';
import WebSocket from 'ws';
import { client, fixture, waitDeployment } from '../test/fixture.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const N = Number(arg('devices', '1000'));
const databaseUrl = arg('database-url', '');
const schema = `hp_bench_${randomBytes(4).toString('hex')}`;

async function pool<T>(
  items: readonly T[],
  width: number,
  fn: (x: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

async function main(): Promise<void> {
  const fx = fixture();
  const files = parseBundle(fx.bundle).payload.files.map((f) => ({ path: f.path, sha256: f.baselineSha256 }));
  const dir = mkdtempSync(join(tmpdir(), 'hotpatch-bench-'));
  const serverJs = fileURLToPath(new URL('../index.js', import.meta.url));
  const code = `
    import { createServer } from ${JSON.stringify(serverJs)};
    const s = await createServer(${JSON.stringify({ dataDir: join(dir, 'data'), port: 0, trustedKeys: [fx.publicKeyFile], ...(databaseUrl ? { databaseUrl, databaseSchema: schema } : {}) })});
    console.log(JSON.stringify({ url: s.url, admin: s.bootstrap.adminTokenFile, enroll: s.bootstrap.enrollTokenFile }));
    process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
    process.on('message', () => { globalThis.gc?.(); const m = process.memoryUsage(); process.send({ heapUsed: m.heapUsed, rss: m.rss }); });
  `;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const memory = () =>
    new Promise<{ heapUsed: number; rss: number }>((resolve) => {
      child.once('message', (m) => resolve(m as { heapUsed: number; rss: number }));
      child.send('mem');
    });
  const info = await new Promise<{ url: string; admin: string; enroll: string }>((resolve) => {
    child.stdout?.on('data', (d: Buffer) =>
      resolve(JSON.parse(String(d)) as { url: string; admin: string; enroll: string }),
    );
  });
  const admin = client(info.url, readFileSync(info.admin, 'utf8').trim());
  const enrollToken = readFileSync(info.enroll, 'utf8').trim();
  await admin.postRaw('/v1/bundles', fx.bundle.toString());
  const mem0 = await memory();

  // Enrollment.
  let t = performance.now();
  const creds: string[] = new Array(N);
  await pool([...Array(N).keys()], 64, async (i) => {
    const r = await fetch(`${info.url}/v1/enroll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${enrollToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: `sim-${i}`, service: 'bench' }),
    });
    creds[i] = ((await r.json()) as { credential: string }).credential;
  });
  const enrollS = (performance.now() - t) / 1000;

  // Connect + hello -> welcome (a check-in), all devices at once.
  const startedAt = new Date().toISOString();
  const facts = (i: number, applied: string | null) => ({
    pid: 10_000 + i,
    service: 'bench',
    node: 'v22.12.0',
    engine: 'liveedit',
    signatureEnforcement: true,
    startedAt,
    patches: applied
      ? [
          {
            patchId: applied,
            version: '1.2.5+hp.1',
            target: 'minimist@1.2.5',
            state: 'applied',
            appliedAt: null,
            reason: null,
          },
        ]
      : [],
    packages: [{ name: 'minimist', version: '1.2.5', files }],
  });
  const sockets: WebSocket[] = new Array(N);
  let applied = 0;
  let allApplied: () => void = () => {};
  const appliedAll = new Promise<void>((r) => {
    allApplied = r;
  });
  const wsUrl = `${info.url.replace('http', 'ws')}/v1/agent`;
  t = performance.now();
  await pool([...Array(N).keys()], 256, async (i) => {
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${creds[i]}` },
      perMessageDeflate: false,
    });
    sockets[i] = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; deploymentId?: string; patchId?: string };
        if (m.type === 'welcome') resolve();
        if (m.type === 'deploy') {
          const base = { type: 'state', deploymentId: m.deploymentId, patchId: m.patchId };
          ws.send(JSON.stringify({ ...base, state: 'applying' }));
          ws.send(JSON.stringify({ ...base, state: 'applied' }));
          ws.send(JSON.stringify({ type: 'facts', facts: facts(i, m.patchId ?? null) }));
          if (++applied === N) allApplied();
        }
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, facts: facts(i, null) })));
    });
  });
  const checkinS = (performance.now() - t) / 1000;
  // Let the server finish the post-welcome work (facts + reconcile) before measuring memory.
  await new Promise((r) => setTimeout(r, 2000));
  const mem1 = await memory();

  // Publish is done; deploy (expedited, default policy) -> applied on every device.
  t = performance.now();
  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default', expedite: true });
  const id = dep.json.deployment.id as string;
  await appliedAll;
  const deliveredS = (performance.now() - t) / 1000;
  await waitDeployment(admin, id, (v) => v.summary.counts.applied === N, 600_000);
  const recordedS = (performance.now() - t) / 1000;

  const result = {
    devices: N,
    storage: databaseUrl ? 'postgres' : 'pglite',
    enrollPerSecond: Math.round(N / enrollS),
    checkinsPerSecond: Math.round(N / checkinS),
    serverRssMb: { before: Math.round(mem0.rss / 2 ** 20), connected: Math.round(mem1.rss / 2 ** 20) },
    serverHeapMb: {
      before: Math.round(mem0.heapUsed / 2 ** 20),
      connected: Math.round(mem1.heapUsed / 2 ** 20),
    },
    serverHeapKbPerDevice: Math.round((mem1.heapUsed - mem0.heapUsed) / 1024 / N),
    serverRssKbPerDevice: Math.round((mem1.rss - mem0.rss) / 1024 / N),
    deployToAllAppliedOnDevicesS: Math.round(deliveredS * 100) / 100,
    deployToAllAppliedRecordedS: Math.round(recordedS * 100) / 100,
  };
  console.log(JSON.stringify(result));
  for (const s of sockets) s?.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (databaseUrl) {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
