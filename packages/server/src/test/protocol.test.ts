import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseBundle } from '@hotpatch/core';
import WebSocket from 'ws';
import type { HotpatchServer } from '../index.js';
import { type client, fixture, until, waitDeployment } from './fixture.js';
import { connect as connectSim, enrollOk, minimistFacts } from './sim.js';
import { startTestServer } from './test-server.js';

/** Simulated devices speaking the real protocol (no runtime), for the rules a real runtime rarely hits. */
const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-proto-'));
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;
let enrollToken = '';
const sockets: WebSocket[] = [];

before(async () => {
  ({ srv, admin } = await startTestServer({ dataDir, tickMs: 100 }));
  // These simulated devices choose their policy by their own labels: a token that allows it.
  const t = await admin.post('/v1/enroll-tokens', { name: 'self-labelling', allowDeviceLabels: true });
  enrollToken = t.json.token as string;
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
});

after(async () => {
  for (const s of sockets) s.terminate();
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// The simulated devices of sim.ts, bound to this file's server and token.
const enroll = (host: string, labels: Record<string, string> = {}) =>
  enrollOk(srv.url, enrollToken, host, { labels });
const facts = (over: Record<string, unknown> = {}) => minimistFacts(fx, over);
const connect = (credential: string) => connectSim(srv.url, credential, sockets);

test('WebSocket refuses bad credentials before upgrading', async () => {
  const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/v1/agent`, {
    headers: { authorization: 'Bearer hpd_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx' },
  });
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(res.statusCode, 401);
});

test('invalid messages get an error naming the path; eligibility per device; deploy carries the signed bundle; retries are idempotent; rollback rule', async () => {
  await admin.post('/v1/policies', {
    name: 'sim',
    allowHotpatch: true,
    rings: [{ name: 'all', selector: { fleet: 'sim' }, deferralDays: 0 }],
    rollback: { maxFailures: 1 },
  });
  const good = await enroll('sim-good', { fleet: 'sim' });
  const old = await enroll('sim-old-node', { fleet: 'sim' });
  const none = await enroll('sim-no-minimist', { fleet: 'sim' });
  const g = await connect(good.credential);
  g.send({ type: 'hello', protocol: 1, facts: { pid: 'x' } });
  const err = await g.next('error');
  assert.equal(err.code, 'E_VALIDATION');
  g.send({ type: 'hello', protocol: 1, facts: facts() });
  assert.equal((await g.next('welcome')).deviceId, good.deviceId);
  const o = await connect(old.credential);
  o.send({ type: 'hello', protocol: 1, facts: facts({ node: 'v18.20.0', signatureEnforcement: false }) });
  await o.next('welcome');
  const n = await connect(none.credential);
  n.send({ type: 'hello', protocol: 1, facts: facts({ packages: [] }) });
  await n.next('welcome');

  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'sim' });
  const id = dep.json.deployment.id as string;
  const deploy = await g.next('deploy', 60_000);
  assert.equal(deploy.deploymentId, id);
  assert.equal(parseBundle(Buffer.from(String(deploy.bundle), 'base64')).payload.patchId, fx.patchId);
  const v = await waitDeployment(
    admin,
    id,
    (x) => x.devices.length === 3 && x.devices.every((d) => d.state !== 'scheduled'),
  );
  const by = Object.fromEntries(v.devices.map((d) => [d.device.split('/')[0], d]));
  assert.equal(by['sim-good']?.state, 'applying');
  assert.equal(by['sim-old-node']?.state, 'ineligible');
  assert.match(by['sim-old-node']?.reason ?? '', /NODE_UNSUPPORTED.*SIGNATURE_ENFORCEMENT_OFF/);
  assert.match(by['sim-old-node']?.action ?? '', /minimist@1\.2\.6 \(restart\)/);
  assert.equal(by['sim-no-minimist']?.state, 'not-applicable');

  // The same report twice (a retry after a reconnect) changes nothing the second time.
  const pending = {
    type: 'state',
    deploymentId: id,
    patchId: fx.patchId,
    state: 'pending',
    reason: 'parse (index.js:12) is running',
  };
  g.send(pending);
  g.send(pending);
  await waitDeployment(admin, id, (x) =>
    x.devices.some((d) => d.state === 'pending' && /running/.test(d.reason ?? '')),
  );
  // A reconnect of the same instance gets the deploy again (the runtime answers already-applied).
  g.ws.close();
  const g2 = await connect(good.credential);
  g2.send({ type: 'hello', protocol: 1, facts: facts({ pid: 4242 }) });
  assert.equal((await g2.next('deploy', 60_000)).deploymentId, id);
  // A failure on one device trips the rollback rule (maxFailures 1): the deployment reverts fleet-wide.
  g2.send({
    type: 'state',
    deploymentId: id,
    patchId: fx.patchId,
    state: 'failed',
    error: { code: 'E_VERIFY', message: 'verify failed' },
  });
  const rv = await waitDeployment(admin, id, (x) => x.deployment.state === 'reverted');
  assert.match(rv.deployment.revertReason ?? '', /rollback rule/);
  const audit = await admin.get('/v1/audit');
  assert.ok(
    audit.json.entries.some(
      (e: { action: string; actor: string }) =>
        e.action === 'deployment.auto-rollback' && e.actor === 'system',
    ),
  );
});

test('revoking a device closes its channel and refuses its credential', async () => {
  const d = await enroll('sim-revoke');
  const s = await connect(d.credential);
  s.send({ type: 'hello', protocol: 1, facts: facts({ packages: [] }) });
  await s.next('welcome');
  await admin.post(`/v1/devices/${d.deviceId}/revoke`);
  assert.equal((await s.next('revoked')).type, 'revoked');
  await until('closed', async () => s.ws.readyState === WebSocket.CLOSED);
  const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/v1/agent`, {
    headers: { authorization: `Bearer ${d.credential}` },
  });
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(res.statusCode, 403);
});
