/**
 * Health-gated rings end to end: real runtime processes under HTTP load, real bundles built by the
 * builder, the real server. A patch that makes the service answer 500 is halted in the canary ring
 * (the broad ring never gets it; the halt names the signal, the device and the numbers in the
 * deployment and the audit log); a good patch passes the canary's window and reaches the broad ring.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import { generateSigningKey, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import type { HotpatchServer } from '../index.js';
import { type client, registerJs, until, waitDeployment } from './fixture.js';
import { startTestServer, type TestServer } from './test-server.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-health-'));
const key = generateSigningKey();
const keyFile = join(dir, 'publisher.pub');
writeFileSync(keyFile, key.publicKeyPem);
const WINDOW_S = 3;

function pkg(root: string, name: string, body: string): string {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(root, 'index.js'), `function handle(q) {\n  ${body}\n}\nmodule.exports = { handle };\n`);
  return root;
}

async function bundle(
  name: string,
  fixed: string,
  advisory: string,
): Promise<{ bytes: string; patchId: string }> {
  const from = pkg(join(dir, 'src', name, 'v1'), name, `return 'ok ' + q;`);
  const to = pkg(join(dir, 'src', name, 'v2'), name, fixed);
  const r = buildPatch({ from: await resolveSpec(from), to: await resolveSpec(to), advisories: [advisory] });
  if (!r.payload) throw new Error(`does not build live: ${JSON.stringify(r.changes)}`);
  return {
    bytes: serializeBundle(signBundle(r.payload, loadPrivateKey(key.privateKeyPem))),
    patchId: r.payload.patchId,
  };
}

/** A service using both packages; any throw is a 500 (as Express would answer). */
const APP = `const http = require('http');
const bad = require('gate-bad');
const good = require('gate-good');
http.createServer((req, res) => {
  try { res.end(bad.handle(1) + good.handle(2)); }
  catch (e) { res.statusCode = 500; res.end(String(e.message)); }
}).listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });
`;

interface Proc {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

const procs: Proc[] = [];
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;
let load: ChildProcess | null = null;
const answers = new Map<string, number[]>();

async function startService(host: string, ring: string, enrollToken: string): Promise<Proc> {
  const appDir = join(dir, `app-${host}`);
  pkg(join(appDir, 'node_modules/gate-bad'), 'gate-bad', `return 'ok ' + q;`);
  pkg(join(appDir, 'node_modules/gate-good'), 'gate-good', `return 'ok ' + q;`);
  writeFileSync(join(appDir, 'app.js'), APP);
  const child = spawn(process.execPath, ['--import', registerJs, 'app.js'], {
    cwd: appDir,
    env: {
      ...process.env,
      HOTPATCH_HOME: join(dir, `home-${host}`),
      HOTPATCH_TRUSTED_KEYS: keyFile,
      HOTPATCH_SERVICE: 'gated-web',
      HOTPATCH_SERVER: srv.url,
      HOTPATCH_ENROLL_TOKEN: enrollToken,
      HOTPATCH_HOST: host,
      HOTPATCH_LABELS: `ring=${ring}`,
      HOTPATCH_AGENT_BACKOFF_MAX_MS: '400',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += String(d);
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`app exited ${code}: ${stderr}`)));
  });
  const p: Proc = {
    child,
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
  procs.push(p);
  return p;
}

/**
 * The load generator's script: about 40 requests/s to each service, each answer's status sent back
 * over IPC. It runs in a process of its own: in this test's process the embedded database and the
 * server share the event loop, and under a busy machine a timer here fired so rarely that a
 * health window saw fewer than 10 requests.
 */
const LOAD_JS = `const targets = JSON.parse(process.argv[1]);
setInterval(() => {
  for (const [host, port] of Object.entries(targets))
    fetch('http://127.0.0.1:' + port + '/')
      .then(async (r) => { await r.arrayBuffer(); process.send([host, r.status]); })
      .catch(() => {});
}, 25);
process.on('disconnect', () => process.exit(0));`;

/** Light steady load on every service, from a child process, recording status codes. */
function startLoad(services: Record<string, Proc>): void {
  const targets = Object.fromEntries(Object.entries(services).map(([host, p]) => [host, p.port]));
  load = spawn(process.execPath, ['-e', LOAD_JS, JSON.stringify(targets)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  load.on('message', (m: [string, number]) => {
    const [host, status] = m;
    const list = answers.get(host) ?? [];
    list.push(status);
    if (list.length > 200) list.shift();
    answers.set(host, list);
  });
}

const recent = (host: string, n = 20) => (answers.get(host) ?? []).slice(-n);

/** The same end-to-end run on embedded storage or on PostgreSQL (a fresh schema, dropped after). */
export function healthGateSuite(storage: 'pglite' | 'postgres'): void {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ dataDir: join(dir, 'data'), trustedKeys: [keyFile], storage });
    ({ srv, admin } = ts);
    assert.equal(srv.db.kind, storage);
  });

  after(async () => {
    load?.kill();
    await Promise.all(procs.map((p) => p.stop()));
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    `${storage}: a patch that raises the 5xx rate is halted in the canary ring; a good patch reaches the next ring`,
    scenario,
  );
}

async function scenario(): Promise<void> {
  const bad = await bundle('gate-bad', `throw new Error('regression in the fix');`, 'GHSA-gate-badx-0001');
  const good = await bundle('gate-good', `return 'fixed ' + q;`, 'GHSA-gate-good-0001');
  for (const b of [bad, good]) assert.equal((await admin.postRaw('/v1/bundles', b.bytes)).status, 201);
  const enroll = (await admin.post('/v1/enroll-tokens', { name: 'gated', allowDeviceLabels: true })).json
    .token as string;
  const pol = await admin.post('/v1/policies', {
    name: 'gated',
    allowHotpatch: true,
    rings: [
      { name: 'canary', selector: { ring: 'canary' }, deferralDays: 0 },
      { name: 'broad', selector: { ring: 'broad' }, deferralDays: 0 },
    ],
    health: {
      windowSeconds: WINDOW_S,
      max5xxDeltaPoints: 1,
      // No event-loop signal here: this test is about the 5xx rate, and on a busy machine one slow
      // turn after an apply can pass any loop ratio (the loop signal has its table test).
      minRequests: 10,
      onBreach: 'halt',
    },
  });
  assert.equal(pol.status, 201, JSON.stringify(pol.json));
  assert.equal(pol.json.policy.health.max5xxDeltaPoints, 1);
  const noSignal = await admin.patch('/v1/policies/gated', {
    health: { windowSeconds: 3, onBreach: 'halt' },
  });
  assert.equal(noSignal.status, 400);
  assert.equal(noSignal.json.error.field, 'body.health');

  const canary = await startService('canary-1', 'canary', enroll);
  const broad = await startService('broad-1', 'broad', enroll);
  await until('both devices connected in policy gated', async () => {
    const ds = (await admin.get('/v1/devices')).json.devices as Array<{
      connected: boolean;
      policy: string;
      notable: unknown[];
      otherComponents: number;
    }>;
    return (
      ds.length === 2 &&
      ds.every((d) => d.connected && d.policy === 'gated' && d.notable.length + d.otherComponents >= 2)
    );
  });
  startLoad({ 'canary-1': canary, 'broad-1': broad });
  // A full window of healthy traffic before the patch.
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500));
  assert.ok(recent('canary-1').every((s) => s === 200));

  // ---- the bad patch: applied on the canary, halted there.
  const depBad = (await admin.post('/v1/deployments', { patchId: bad.patchId, policy: 'gated' })).json
    .deployment.id as string;
  const held = await waitDeployment(admin, depBad, (v) =>
    v.devices.some((d) => d.device === 'canary-1/gated-web' && d.state === 'applied'),
  );
  const broadRow = held.devices.find((d) => d.device === 'broad-1/gated-web');
  assert.equal(broadRow?.state, 'scheduled');
  // Waiting for the canary's window, or, if this poll came after the window closed, halted by it.
  assert.match(broadRow?.reason ?? '', /health gate: waiting for ring canary|^halted by the health gate/);
  const halted = await waitDeployment(
    admin,
    depBad,
    (v) => (v.deployment as { haltReason?: string | null }).haltReason != null,
    WINDOW_S * 1000 + 20_000,
  );
  const haltReason = String((halted.deployment as { haltReason?: string | null }).haltReason);
  assert.match(
    haltReason,
    /^canary-1\/gated-web \(ring canary\): 5xx rate 0% -> \d+(\.\d+)?% \(\+\d+(\.\d+)? points, limit \+1\) over 3 s$/,
  );
  const h = (
    halted as unknown as {
      health: Array<{
        verdict: string;
        breaches: Array<{ signal: string }>;
        before: { responses: { s2xx: number } };
        after: { responses: { s5xx: number } };
      }>;
    }
  ).health;
  assert.equal(h.length, 1);
  assert.equal(h[0]?.verdict, 'fail');
  assert.equal(h[0]?.breaches[0]?.signal, '5xx-rate');
  assert.ok((h[0]?.before.responses.s2xx ?? 0) >= 10, 'the before window saw the healthy traffic');
  assert.ok((h[0]?.after.responses.s5xx ?? 0) >= 10, 'the after window saw the 500s');
  const audit = (await admin.get('/v1/audit?limit=50')).json.entries as Array<{
    action: string;
    subject: string;
    actor: string;
    detail: { reason: string; breaches: unknown[]; device: { device: string } };
  }>;
  const entry = audit.find((e) => e.action === 'deployment.health-halt' && e.subject === depBad);
  assert.equal(entry?.actor, 'system');
  assert.equal(entry?.detail.reason, haltReason);
  assert.equal(entry?.detail.device.device, 'canary-1/gated-web');
  // The broad ring never gets it: still scheduled, now with the halt as the reason, and still healthy.
  await new Promise((r) => setTimeout(r, 1500));
  const after = (await admin.get(`/v1/deployments/${depBad}`)).json as {
    devices: Array<{ device: string; state: string; reason: string }>;
  };
  const b2 = after.devices.find((d) => d.device === 'broad-1/gated-web');
  assert.equal(b2?.state, 'scheduled');
  assert.match(b2?.reason ?? '', /^halted by the health gate: canary-1\/gated-web/);
  assert.ok(
    recent('broad-1').length > 0 && recent('broad-1').every((s) => s === 200),
    'broad never ran the bad patch',
  );
  assert.ok(
    recent('canary-1').every((s) => s === 500),
    'halt does not revert (onBreach: halt)',
  );
  // The operator reverts it: the canary is healthy again.
  assert.equal((await admin.post(`/v1/deployments/${depBad}/revert`)).status, 200);
  await waitDeployment(admin, depBad, (v) =>
    v.devices.some((d) => d.device === 'canary-1/gated-web' && d.state === 'reverted'),
  );
  await until(
    'canary answers 200 again',
    async () => recent('canary-1', 10).every((s) => s === 200) && recent('canary-1', 10).length === 10,
  );
  // A window of healthy traffic before the next patch, so that its before-window is clean.
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500));

  // ---- the good patch: passes the canary's window, then the broad ring applies it.
  const depGood = (await admin.post('/v1/deployments', { patchId: good.patchId, policy: 'gated' })).json
    .deployment.id as string;
  const done = await waitDeployment(
    admin,
    depGood,
    (v) => v.devices.length === 2 && v.devices.every((d) => d.state === 'applied'),
    WINDOW_S * 1000 + 30_000,
  );
  const gh = (done as unknown as { health: Array<{ device: string; verdict: string }> }).health;
  assert.equal(gh.find((x) => x.device === 'canary-1/gated-web')?.verdict, 'pass');
  assert.equal((done.deployment as { haltReason?: string | null }).haltReason, null);
  await until('both answer with the fixed code', async () => {
    const r = await Promise.all(
      [canary, broad].map((p) => fetch(`http://127.0.0.1:${p.port}/`).then((x) => x.text())),
    );
    return r.every((t) => t === 'ok 1fixed 2');
  });

  // ---- onBreach: rollback: the same bad patch again is reverted by the gate itself.
  const upd = await admin.patch('/v1/policies/gated', {
    health: { windowSeconds: WINDOW_S, max5xxDeltaPoints: 1, minRequests: 10, onBreach: 'rollback' },
  });
  assert.equal(upd.status, 200, JSON.stringify(upd.json));
  const depAgain = (await admin.post('/v1/deployments', { patchId: bad.patchId, policy: 'gated' })).json
    .deployment.id as string;
  const rolled = await waitDeployment(
    admin,
    depAgain,
    (v) =>
      v.deployment.state === 'reverted' &&
      v.devices.some((d) => d.device === 'canary-1/gated-web' && d.state === 'reverted'),
    WINDOW_S * 1000 + 30_000,
  );
  assert.match(
    rolled.deployment.revertReason ?? '',
    /^health gate: canary-1\/gated-web \(ring canary\): 5xx rate/,
  );
  assert.notEqual(
    rolled.devices.find((d) => d.device === 'broad-1/gated-web')?.state,
    'applied',
    JSON.stringify({ devices: rolled.devices, health: (rolled as unknown as { health: unknown }).health }),
  );
  const audit2 = (await admin.get('/v1/audit?limit=50')).json.entries as Array<{
    action: string;
    subject: string;
  }>;
  assert.ok(audit2.some((e) => e.action === 'deployment.auto-rollback' && e.subject === depAgain));
  await until('canary answers 200 again after the automatic rollback', async () => {
    const r = recent('canary-1', 10);
    return r.length === 10 && r.every((x) => x === 200);
  });
  assert.ok(
    recent('broad-1').every((x) => x === 200),
    'broad never ran the bad patch',
  );
}
