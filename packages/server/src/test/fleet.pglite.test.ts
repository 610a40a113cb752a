import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HotpatchServer } from '../index.js';
import {
  type AppProcess,
  client,
  fixture,
  freePort,
  readToken,
  startApp,
  until,
  waitDeployment,
} from './fixture.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-pglite-'));
let port = 0;
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;
let enrollToken = '';
const apps: AppProcess[] = [];

before(async () => {
  port = await freePort();
  ({ srv, admin } = await startTestServer({ dataDir, port }));
  // Devices in these tests pick their ring with HOTPATCH_LABELS: a token that allows device labels.
  const t = await admin.post('/v1/enroll-tokens', { name: 'self-labelling', allowDeviceLabels: true });
  enrollToken = t.json.token as string;
});

after(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('first start: admin + enrollment token files, default policy, health', async () => {
  assert.match(readToken(srv.bootstrap.adminTokenFile), /^hpt_/);
  const h = (await (await fetch(`${srv.url}/healthz`)).json()) as { storage: string };
  assert.equal(h.storage, 'pglite');
  const p = await admin.get('/v1/policies');
  assert.deepEqual(
    p.json.policies.map((x: { name: string }) => x.name),
    ['default'],
  );
});

test('bad tokens and bad bodies get 4xx JSON naming the field; nothing half-written', async () => {
  assert.equal((await fetch(`${srv.url}/v1/devices`)).status, 401);
  const bad = client(srv.url, 'hpt_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx');
  const r = await bad.get('/v1/devices');
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'E_UNAUTHORIZED');
  // viewer cannot change anything
  const v = await admin.post('/v1/tokens', { name: 'ci-viewer', role: 'viewer' });
  assert.equal(v.status, 201);
  const viewer = client(srv.url, v.json.token);
  assert.equal((await viewer.get('/v1/devices')).status, 200);
  const f = await viewer.post('/v1/policies/default/pause');
  assert.equal(f.status, 403);
  assert.equal(f.json.error.code, 'E_FORBIDDEN');
  // schema errors name the field
  const e1 = await admin.post('/v1/policies', {
    name: 'p1',
    allowHotpatch: true,
    rings: [{ name: 'a', selector: {}, deferralDays: -1 }],
  });
  assert.equal(e1.status, 400);
  assert.equal(e1.json.error.field, 'body.rings.0.deferralDays');
  const e2 = await admin.post('/v1/policies', { allowHotpatch: true, rings: [] });
  assert.equal(e2.status, 400);
  assert.match(e2.json.error.field, /^body\.(name|rings)/);
  const e3 = await admin.post('/v1/policies', {
    name: 'dup',
    allowHotpatch: true,
    rings: [
      { name: 'a', selector: {}, deferralDays: 0 },
      { name: 'a', selector: {}, deferralDays: 1 },
    ],
  });
  assert.equal(e3.status, 400);
  assert.equal(e3.json.error.field, 'body.rings.1.name');
  assert.equal((await admin.get('/v1/policies/dup')).status, 404);
  const e4 = await admin.postRaw('/v1/bundles', '{not json');
  assert.equal(e4.status, 400);
  assert.equal(e4.json.error.field, 'body');
  const e5 = await admin.post('/v1/deployments', { patchId: 'nope', policy: 'default' });
  assert.equal(e5.status, 404);
  assert.equal(e5.json.error.field, 'body.patchId');
  // enrollment: bad token, bad body
  const en = await fetch(`${srv.url}/v1/enroll`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer hpe_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ host: 'h', service: 's' }),
  });
  assert.equal(en.status, 401);
  const en2 = await fetch(`${srv.url}/v1/enroll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${enrollToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: '' }),
  });
  assert.equal(en2.status, 400);
  // bundles: untrusted key, not a security hotpatch
  const u = await admin.postRaw('/v1/bundles', fx.otherBundle.toString());
  assert.equal(u.status, 422);
  assert.equal(u.json.error.code, 'E_UNTRUSTED_KEY');
  const audit = await admin.get('/v1/audit');
  assert.ok(audit.json.entries.some((e: { action: string }) => e.action === 'token.create'));
  assert.ok(!audit.json.entries.some((e: { subject: string }) => e.subject === 'dup'));
});

test('publish -> policy with two rings -> applied in memory on enrolled runtimes, same pid; expedite; fleet revert; restart + reconnect', async () => {
  const pub = await admin.postRaw('/v1/bundles', fx.bundle.toString());
  assert.equal(pub.status, 201, JSON.stringify(pub.json));
  assert.equal(pub.json.bundle.patchId, fx.patchId);
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 200); // idempotent
  const pol = await admin.post('/v1/policies', {
    name: 'prod',
    allowHotpatch: true,
    rings: [
      { name: 'canary', selector: { ring: 'canary' }, deferralDays: 0 },
      { name: 'broad', selector: { ring: 'broad' }, deferralDays: 2 },
    ],
    deadlineDays: 5,
    rollback: { maxFailures: 5 },
  });
  assert.equal(pol.status, 201, JSON.stringify(pol.json));

  const a = await startApp(fx, {
    server: srv.url,
    enrollToken,
    host: 'host-a',
    service: 'web',
    labels: { ring: 'canary' },
    home: join(dataDir, 'home-a'),
  });
  const b = await startApp(fx, {
    server: srv.url,
    enrollToken,
    host: 'host-b',
    service: 'web',
    labels: { ring: 'broad' },
    home: join(dataDir, 'home-b'),
  });
  apps.push(a, b);
  assert.equal((await a.get()).polluted, true, 'the exploit works before the hotpatch');

  const devices = await until('two devices connected with facts', async () => {
    const r = await admin.get('/v1/devices');
    const ds = r.json.devices as Array<{
      host: string;
      connected: boolean;
      policy: string;
      ring: string;
      eligible: boolean;
      id: string;
    }>;
    if (ds.length !== 2 || !ds.every((d) => d.connected)) return null;
    // The list counts the components without known issues; the device page names them all.
    for (const d of ds) {
      const full = (await admin.get(`/v1/devices/${d.id}`)).json.device.components as Array<{ name: string }>;
      if (!full.some((c) => c.name === 'minimist')) return null;
    }
    return ds;
  });
  const byHost = Object.fromEntries(devices.map((d) => [d.host, d]));
  assert.equal(byHost['host-a']?.policy, 'prod');
  assert.equal(byHost['host-a']?.ring, 'canary');
  assert.equal(byHost['host-b']?.ring, 'broad');
  assert.equal(byHost['host-a']?.eligible, true);

  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'prod' });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  const id = dep.json.deployment.id as string;
  assert.equal(
    (await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'prod' })).json.deployment.id,
    id,
    'deploy is idempotent',
  );

  let v = await waitDeployment(
    admin,
    id,
    (x) =>
      x.devices.find((d) => d.device === 'host-a/web')?.state === 'applied' &&
      x.devices.find((d) => d.device === 'host-b/web')?.state === 'scheduled',
  );
  const bRow = v.devices.find((d) => d.device === 'host-b/web');
  assert.match(bRow?.reason ?? '', /deferral/);
  const pa = await a.get();
  assert.equal(pa.polluted, false, 'exploit gone on the canary');
  assert.equal(pa.pid, a.pid, 'same process');
  assert.equal((await b.get()).polluted, true, 'broad ring still deferred');

  // Report while the broad ring waits.
  const rep = await admin.get('/v1/reports/hotpatch');
  const prod = rep.json.policies.find((p: { policy: string }) => p.policy === 'prod');
  assert.equal(prod.hotpatched, 1);
  assert.equal(prod.inProgress, 1);

  // Pause holds the ring even when expedited; resume releases it.
  assert.equal((await admin.post('/v1/policies/prod/pause')).status, 200);
  await admin.post(`/v1/deployments/${id}/expedite`);
  v = await waitDeployment(
    admin,
    id,
    (x) => x.devices.find((d) => d.device === 'host-b/web')?.reason === 'policy paused',
  );
  const paused = (await admin.get('/v1/reports/hotpatch')).json.policies.find(
    (p: { policy: string }) => p.policy === 'prod',
  );
  assert.equal(paused.paused, 1);
  await admin.post('/v1/policies/prod/resume');
  v = await waitDeployment(admin, id, (x) => x.devices.every((d) => d.state === 'applied'));
  assert.equal((await b.get()).polluted, false);
  assert.equal((await b.get()).pid, b.pid);

  const dev = await admin.get(`/v1/devices/${byHost['host-a']?.id}`);
  const mm = dev.json.device.components.find((c: { name: string }) => c.name === 'minimist');
  assert.equal(mm.baseline, '1.2.5');
  assert.equal(mm.version, '1.2.5+hp.1');

  // Server restart (same data dir and port): devices reconnect, nothing lost.
  await srv.close();
  ({ srv } = await startTestServer({ dataDir, port }));
  assert.equal(srv.bootstrap.adminTokenFile, null, 'no new admin token on restart');
  await until('both devices reconnected', async () => {
    const r = await admin.get('/v1/devices');
    return (
      (r.json.devices as Array<{ connected: boolean }>).every((d) => d.connected) &&
      ((await (await fetch(`${srv.url}/healthz`)).json()) as { devicesConnected: number })
        .devicesConnected === 2
    );
  });
  assert.equal((await admin.get(`/v1/deployments/${id}`)).json.summary.counts.applied, 2);

  // Fleet-wide revert: both devices run the baseline again (the exploit is back), same pids.
  const rv = await admin.post(`/v1/deployments/${id}/revert`);
  assert.equal(rv.status, 200);
  await waitDeployment(
    admin,
    id,
    (x) => x.deployment.state === 'reverted' && x.devices.every((d) => d.state === 'reverted'),
  );
  assert.equal((await a.get()).polluted, true);
  assert.equal((await b.get()).pid, b.pid);

  // Reports: exposure window per advisory, restarts per device.
  const report = await admin.get('/v1/report');
  assert.equal(report.status, 200);
  const adv = report.json.advisories.find((x: { advisory: string }) => x.advisory === 'CVE-2021-44906');
  // Reverted fleet-wide: both devices run the vulnerable code again, so they are exposed, not protected.
  assert.equal(adv.devicesApplied, 0);
  assert.equal(adv.devicesStillExposed, 2);
  assert.ok(adv.openExposureHours > 0);
  const rs = report.json.restarts as Array<{
    instanceStarts: number;
    monthlyRestartsPerYear: number;
    cadenceRestartsPerYear: number;
    hotpatchesAppliedWithoutRestart: number;
  }>;
  assert.equal(rs.length, 2);
  assert.ok(
    rs.every(
      (x) =>
        x.instanceStarts === 1 &&
        x.monthlyRestartsPerYear === 12 &&
        x.cadenceRestartsPerYear === 4 &&
        x.hotpatchesAppliedWithoutRestart === 1,
    ),
  );
  const cal = await admin.get('/v1/policies/prod/calendar');
  assert.equal(cal.json.restartsPerYear, 4);
  assert.equal(cal.json.next[0].rings[1].ring, 'broad');
});

test('revoked device: credential refused, agent stops', async () => {
  const list = (await admin.get('/v1/devices')).json.devices as Array<{ id: string; host: string }>;
  const a = list.find((d) => d.host === 'host-a');
  assert.ok(a);
  assert.equal((await admin.post(`/v1/devices/${a.id}/revoke`)).status, 200);
  await until('device disconnected', async () => {
    const d = (await admin.get(`/v1/devices/${a.id}`)).json.device;
    return d.revoked && !d.connected;
  });
  const again = await fetch(`${srv.url}/v1/enroll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${enrollToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'host-a', service: 'web' }),
  });
  assert.equal(again.status, 403);
});
