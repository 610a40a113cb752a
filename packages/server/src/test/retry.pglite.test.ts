/**
 * Retry of failed devices: a simulated device (real protocol) fails a deploy; the operator fixes
 * the cause and retries; the same connection is sent the deploy again and reports applied. The
 * device's status reads "Failed: <reason in words>" meanwhile.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import type { HotpatchServer } from '../index.js';
import { client, fixture, readToken, waitDeployment } from './fixture.js';
import { enrollOk, minimistFacts, online } from './sim.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-retry-'));
const sockets: WebSocket[] = [];
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;

before(async () => {
  ({ srv, admin } = await startTestServer({ dataDir }));
});

after(async () => {
  for (const s of sockets) s.terminate();
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a failed device is retried on request: deploy sent again on the same connection; status in words meanwhile', async () => {
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  const dev = await enrollOk(srv.url, readToken(srv.bootstrap.enrollTokenFile), 'sim-retry');
  const sim = await online(srv.url, dev.credential, minimistFacts(fx), sockets);
  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
  const id = dep.json.deployment.id as string;
  assert.equal((await sim.next('deploy')).deploymentId, id);
  assert.equal((await admin.post(`/v1/deployments/${id}/retry`)).status, 409, 'nothing failed yet');
  sim.send({
    type: 'state',
    deploymentId: id,
    patchId: fx.patchId,
    state: 'failed',
    error: { code: 'E_BASELINE_MISMATCH', message: 'index.js differs' },
  });
  await waitDeployment(admin, id, (v) => v.devices.some((d) => d.state === 'failed'));
  const failed = (await admin.get(`/v1/devices/${dev.deviceId}`)).json.device.status;
  assert.equal(failed.kind, 'failed');
  assert.match(failed.label, /^Failed: installed code differs from the hotpatch baseline/);

  const r = await admin.post(`/v1/deployments/${id}/retry`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json, { deploymentId: id, retried: [dev.deviceId] });
  assert.equal((await sim.next('deploy')).deploymentId, id, 'sent again without a reconnect');
  sim.send({ type: 'state', deploymentId: id, patchId: fx.patchId, state: 'applied' });
  await waitDeployment(admin, id, (v) => v.devices.every((d) => d.state === 'applied'));
  const audit = await admin.get('/v1/audit');
  assert.ok(audit.json.entries.some((e: { action: string }) => e.action === 'deployment.retry'));
  const viewer = client(srv.url, (await admin.post('/v1/tokens', { name: 'v', role: 'viewer' })).json.token);
  assert.equal((await viewer.post(`/v1/deployments/${id}/retry`)).status, 403);
  assert.equal((await admin.post('/v1/deployments/dep_nope/retry')).status, 404);
});
