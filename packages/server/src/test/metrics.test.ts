import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { HotpatchServer } from '../index.js';
import { type AppProcess, client, fixture, readToken, startApp, until, waitDeployment } from './fixture.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-metrics-'));
let srv: HotpatchServer;
let token = '';
let admin: ReturnType<typeof client>;
const apps: AppProcess[] = [];

before(async () => {
  ({ srv } = await startTestServer({ dataDir }));
  token = readToken(srv.bootstrap.adminTokenFile);
  admin = client(srv.url, token);
});

after(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function scrape() {
  const res = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  const family = (name: string) => {
    const f = families.find((x) => x.name === name);
    assert.ok(f, `${name} is exported`);
    return f;
  };
  const value = (name: string, labels: Record<string, string> = {}) => {
    const m = family(name).metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    return m ? Number(m.value) : undefined;
  };
  return { families, family, value };
}

test('/metrics needs a token', async () => {
  const res = await fetch(`${srv.url}/metrics`);
  assert.equal(res.status, 401);
});

test('/metrics: devices, eligibility, deployments, exposure histogram, restarts avoided, check-ins', async () => {
  const empty = await scrape();
  assert.equal(empty.value('hotpatch_devices', { status: 'connected' }), 0);
  assert.equal(empty.family('hotpatch_checkins_total').type, 'COUNTER');
  assert.equal(empty.value('hotpatch_restarts_avoided'), 0);

  const enroll = (await admin.post('/v1/enroll-tokens', { name: 'm' })).json.token as string;
  const app = await startApp(fx, {
    server: srv.url,
    enrollToken: enroll,
    host: 'metrics-a',
    service: 'web',
    home: join(dataDir, 'home-a'),
  });
  apps.push(app);
  await until('device connected with minimist loaded', async () => {
    const ds = (await admin.get('/v1/devices')).json.devices as Array<{ id: string; connected: boolean }>;
    if (ds.length !== 1 || !ds[0]?.connected) return false;
    // The list counts the components without known issues; the device page names them all.
    const full = (await admin.get(`/v1/devices/${ds[0].id}`)).json.device.components as Array<{
      name: string;
    }>;
    return full.some((c) => c.name === 'minimist');
  });
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  await waitDeployment(admin, dep.json.deployment.id, (v) => v.devices.some((d) => d.state === 'applied'));

  const m = await scrape();
  assert.equal(m.value('hotpatch_devices', { status: 'connected' }), 1);
  assert.equal(m.value('hotpatch_devices', { status: 'revoked' }), 0);
  assert.equal(m.value('hotpatch_devices_report', { policy: 'default', column: 'hotpatched' }), 1);
  assert.equal(m.value('hotpatch_deployments', { state: 'active' }), 1);
  assert.equal(m.value('hotpatch_deployments', { state: 'halted' }), 0);
  assert.equal(m.value('hotpatch_deployment_devices', { state: 'applied' }), 1);
  assert.equal(m.value('hotpatch_restarts_avoided'), 1);
  assert.equal(m.value('hotpatch_devices_exposed', { advisory: 'CVE-2021-44906' }), 0);
  const hist = m.family('hotpatch_exposure_window_hours');
  assert.equal(hist.type, 'HISTOGRAM');
  const h = hist.metrics[0];
  assert.equal(h?.count, '1');
  // Published and applied within the test: the window is under an hour, so every bucket holds it.
  assert.equal(h?.buckets?.['1'], '1');
  assert.ok(Number(m.value('hotpatch_checkins_total')) >= 1, 'the hello counted as a check-in');
  // No device is ineligible; the reason gauge has no sample until one is.
  assert.equal(m.family('hotpatch_device_ineligible').metrics.length, 0);
  assert.ok(m.families.some((f) => f.name === 'hotpatch_server_process_cpu_seconds_total'));

  // Revoked devices leave the connected count and count as revoked.
  const id = ((await admin.get('/v1/devices')).json.devices as Array<{ id: string }>)[0]?.id;
  assert.equal((await admin.post(`/v1/devices/${id}/revoke`)).status, 200);
  const r = await until('revoked counted', async () => {
    const s = await scrape();
    return s.value('hotpatch_devices', { status: 'revoked' }) === 1 ? s : null;
  });
  assert.equal(r.value('hotpatch_devices', { status: 'connected' }), 0);
});
