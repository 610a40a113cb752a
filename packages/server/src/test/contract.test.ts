/**
 * Contract: a real agent (the runtime's preload in a real process) against a real server, every
 * answer checked by the server against its route's response schema (startTestServer), and read
 * back through the protocol's typed client and checked again against the same schemas.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ApiError,
  BundleView,
  type DeploymentCreated,
  DeploymentListItem,
  DeploymentProgress,
  DeploymentView,
  DeviceDetailResponse,
  DeviceListResponse,
  hotpatchApi,
  LiveEvent,
  PolicyView,
  ReportResponse,
} from '@hotpatch/protocol';
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type AppProcess, fixture, startApp, until } from './fixture.js';
import { startTestServer, type TestServer } from './test-server.js';

const fx = fixture();
let ts: TestServer;
let app: AppProcess;

/** The schema's verdict, with the first error in the message. */
function conforms(schema: TSchema, value: unknown, what: string): void {
  const first = Value.Errors(schema, value).First();
  assert.equal(first, undefined, `${what}: ${first?.path} ${first?.message}`);
}

before(async () => {
  ts = await startTestServer();
  app = await startApp(fx, {
    server: ts.url,
    enrollToken: ts.enrollToken,
    host: 'contract-a',
    service: 'web',
    home: join(ts.dataDir, 'home'),
  });
});

after(async () => {
  await app?.stop();
  await ts?.close();
});

test('a real agent enrolls and is deployed to; every view the client reads matches the shared schemas', async () => {
  const api = hotpatchApi({ base: ts.url, token: ts.adminToken });
  const device = await until('the agent enrolled with facts', async () => {
    const ds = await api.devices();
    return ds.find((d) => d.host === 'contract-a' && d.connected && d.notable.length + d.otherComponents > 0);
  });
  conforms(DeviceListResponse, await api.devicePage({ limit: 10 }), 'GET /v1/devices');
  const detail = await api.device(device.id);
  conforms(DeviceDetailResponse, detail, 'GET /v1/devices/:id');
  assert.equal(detail.instances[0]?.pid, app.pid);

  const pub = await api.publish(fx.bundle.toString());
  conforms(BundleView, pub.bundle, 'POST /v1/bundles');
  const dep = await api.deploy(fx.patchId, 'default');
  assert.equal(dep.created, true);
  conforms(DeploymentView, { ...dep, created: undefined }, 'POST /v1/deployments');
  let v = await api.waitDeployment(dep.deployment.id);
  while (!v.devices.some((d) => d.state === 'applied'))
    v = await api.waitDeployment(dep.deployment.id, v.fingerprint);
  assert.equal((await app.get()).polluted, false, "the hotpatch is live in the agent's process");
  // The counts-only long poll says what the full view says, and waits while nothing changes.
  const p = await api.deploymentProgress(dep.deployment.id);
  conforms(DeploymentProgress, p, 'GET /v1/deployments/:id/progress');
  const full = await api.deployment(dep.deployment.id);
  assert.deepEqual(p.summary, full.summary);
  assert.equal(p.healthReports, full.health.length);
  assert.equal(p.deployment.phase, full.deployment.phase);
  // A state event that changes nothing watched (a device re-reporting its state) does not end it.
  const t0 = Date.now();
  const pending = api.deploymentProgress(dep.deployment.id, p.fingerprint, 600);
  await new Promise((r) => setTimeout(r, 100));
  await ts.srv.db.notify(JSON.stringify({ kind: 'state', deploymentId: dep.deployment.id }));
  const same = await pending;
  assert.equal(same.fingerprint, p.fingerprint);
  assert.ok(Date.now() - t0 >= 550, 'an unchanged deployment is long-polled, not answered at once');
  // The creation's summary answer: the same deployment and counts, no per-device rows.
  const again = await api.client.request<DeploymentCreated>('POST', '/v1/deployments?view=summary', {
    patchId: fx.patchId,
    policy: 'default',
  });
  assert.equal(again.created, false, 'the active deployment is answered, not a second one');
  assert.equal(again.deployment.id, dep.deployment.id);
  assert.deepEqual(again.summary, full.summary);
  assert.deepEqual([again.devices.length, again.health.length], [0, 0]);
  // An unknown view is refused, naming the parameter, and creates nothing.
  await assert.rejects(
    api.client.request('POST', '/v1/deployments?view=rows', { patchId: fx.patchId, policy: 'default' }),
    (e: unknown) => e instanceof ApiError && e.status === 400 && /view/.test(`${e.field} ${e.message}`),
  );
  assert.equal((await api.deployments()).length, 1);
  conforms(Type.Array(DeploymentListItem), await api.deployments(), 'GET /v1/deployments');
  conforms(Type.Array(PolicyView), await api.policies(), 'GET /v1/policies');
  conforms(ReportResponse, await api.client.request('GET', '/v1/report'), 'GET /v1/report');
});

test('refusals come back as the protocol error class with the table code', async () => {
  const api = hotpatchApi({ base: ts.url, token: ts.adminToken });
  await assert.rejects(api.deployment('dep_missing'), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'E_NOT_FOUND');
    assert.equal(e.field, 'id');
    return true;
  });
  const anonymous = hotpatchApi({ base: ts.url });
  await assert.rejects(anonymous.me(), (e: unknown) => e instanceof ApiError && e.code === 'E_UNAUTHORIZED');
  const nowhere = hotpatchApi({ base: 'http://127.0.0.1:1', token: 'x' });
  await assert.rejects(nowhere.me(), (e: unknown) => e instanceof ApiError && e.code === 'E_NETWORK');
});

test('the admin routes answer within their schemas (the server checks each answer)', async () => {
  const c = ts.admin;
  const ok = async (r: Promise<{ status: number; json: unknown }>, status: number, what: string) => {
    const a = await r;
    assert.equal(a.status, status, `${what}: ${JSON.stringify(a.json)}`);
    return a.json as Record<string, string>;
  };
  const tok = await ok(c.post('/v1/tokens', { name: 'ci', role: 'viewer' }), 201, 'token create');
  await ok(c.get('/v1/tokens'), 200, 'tokens');
  await ok(c.del(`/v1/tokens/${tok.id}`), 200, 'token revoke');
  const et = await ok(
    c.post('/v1/enroll-tokens', { name: 'ci', labels: { ring: 'a' } }),
    201,
    'enroll token',
  );
  await ok(c.del(`/v1/enroll-tokens/${et.id}`), 200, 'enroll token revoke');
  await ok(c.post('/v1/baselines', { target: 'minimist', version: '1.2.6' }), 201, 'baseline set');
  await ok(c.get('/v1/baselines'), 200, 'baselines');
  for (const p of ['/v1/reports/hotpatch', '/v1/reports/exposure', '/v1/reports/restarts', '/v1/report'])
    await ok(c.get(p), 200, p);
  await ok(c.get('/v1/audit?limit=5'), 200, 'audit');
  await ok(c.get('/v1/me'), 200, 'me');
  await ok(c.get('/healthz'), 200, 'healthz');
  const rings = [{ name: 'all', selector: {}, deferralDays: 0 }];
  await ok(c.post('/v1/policies', { name: 'ci', allowHotpatch: true, rings }), 201, 'policy create');
  await ok(c.patch('/v1/policies/ci', { deadlineDays: 3 }), 200, 'policy update');
  await ok(c.post('/v1/policies/ci/pause'), 200, 'pause');
  await ok(c.post('/v1/policies/ci/resume'), 200, 'resume');
  await ok(c.get('/v1/policies/ci/calendar?count=2'), 200, 'calendar');
  await ok(c.get('/v1/policies/ci'), 200, 'policy');
  await ok(c.del('/v1/policies/ci'), 200, 'policy delete');
  const [d] = (await ok(c.get('/v1/devices'), 200, 'devices')).devices as unknown as Array<{ id: string }>;
  await ok(c.patch(`/v1/devices/${d?.id}`, { labels: { team: 'ci' } }), 200, 'device update');
  await ok(c.get(`/v1/bundles/${fx.patchId}`), 200, 'bundle');
  await ok(c.get(`/v1/bundles/${fx.patchId}/readiness`), 200, 'readiness');
  await ok(c.get('/v1/vex'), 200, 'vex');
});

/** Reads SSE frames from a response body until one satisfies `last`; returns them all. */
async function framesUntil(
  body: ReadableStream<Uint8Array>,
  last: (f: { event: string; data: unknown }) => boolean,
): Promise<Array<{ event: string; data: unknown }>> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const out: Array<{ event: string; data: unknown }> = [];
  let buf = '';
  while (!out.some(last)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) out.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return out;
}

test("the live event stream carries the protocol's events, under their kinds, to a token holder only", async () => {
  const refused = await fetch(`${ts.url}/v1/events`);
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
  const res = await fetch(`${ts.url}/v1/events`, { headers: { authorization: `Bearer ${ts.adminToken}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const got = framesUntil(res.body!, (f) => f.event === 'policy');
  // A change the bus announces: a new policy.
  const rings = [{ name: 'all', selector: {}, deferralDays: 0 }];
  const created = await ts.admin.post('/v1/policies', { name: 'live', allowHotpatch: true, rings });
  assert.equal(created.status, 201);
  const frames = await got;
  assert.equal(frames[0]?.event, 'hello');
  assert.equal((frames[0]?.data as { actor: { role: string } }).actor.role, 'admin');
  for (const f of frames) {
    conforms(LiveEvent, f.data, `event ${f.event}`);
    assert.equal((f.data as { kind: string }).kind, f.event, 'the SSE event names the kind');
  }
  assert.match(String((frames.at(-1)?.data as { id: string }).id), /^pol_/);
});
