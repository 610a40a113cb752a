/**
 * Fault tests of the server's other clients (run by faultSuite in faults.ts): enrollment takeover
 * and labels, malformed API input, an agent whose device was deleted, reports after a revert.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FaultHarness } from './faults.js';
import { startApp, until, waitDeployment } from './fixture.js';
import { enroll, enrollOk, minimistFacts, online } from './sim.js';

export function clientFaults(shared: FaultHarness): void {
  const { storage, fx, base, sockets, apps, host, canary, deploy, state } = shared;

  test(
    `[${storage}] enrollment: an existing identity cannot be taken over with the enrollment token; token labels win`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin, enrollToken } = shared;
      const h = host('owner');
      const first = await enrollOk(srv.url, enrollToken, h);
      const again = await enroll(srv.url, enrollToken, h);
      assert.equal(again.status, 409, JSON.stringify(again.json));
      assert.equal((again.json.error as { code: string }).code, 'E_DEVICE_EXISTS');
      // The device itself (its current credential) may rotate it; the old one stops working.
      const rotated = await enroll(
        srv.url,
        enrollToken,
        h,
        {},
        { 'x-hotpatch-credential': first.credential },
      );
      assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
      assert.equal(rotated.json.deviceId, first.deviceId);
      const old = await fetch(`${srv.url}/v1/agent`, {
        headers: { authorization: `Bearer ${first.credential}` },
      });
      assert.equal(old.status, 401);

      const t = await admin.post('/v1/enroll-tokens', { name: 'prod', labels: { env: 'prod' } });
      const d = await enrollOk(srv.url, t.json.token, host('labels'), {
        labels: { env: 'canary', ring: 'canary' },
      });
      const dev = (await admin.get(`/v1/devices/${d.deviceId}`)).json.device;
      assert.deepEqual(dev.labels, { env: 'prod' }, 'device labels ignored unless the token allows them');
      const t2 = await admin.post('/v1/enroll-tokens', {
        name: 'self-label',
        labels: { env: 'prod' },
        allowDeviceLabels: true,
      });
      assert.equal(t2.status, 201, JSON.stringify(t2.json));
      const d2 = await enrollOk(srv.url, t2.json.token, host('labels'), {
        labels: { env: 'canary', zone: 'a' },
      });
      assert.deepEqual((await admin.get(`/v1/devices/${d2.deviceId}`)).json.device.labels, {
        env: 'prod',
        zone: 'a',
      });
      const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
      assert.equal((await enroll(srv.url, t2.json.token, host('labels'), { labels: many })).status, 400);
    },
  );

  test(
    `[${storage}] reports: a device reverted by a fleet-wide revert counts as exposed again`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin } = shared;
      await canary('exposure', {});
      const t = await admin.post('/v1/enroll-tokens', { name: 'exposure-2', labels: { fleet: 'exposure' } });
      const d = await enrollOk(srv.url, t.json.token, host('exposed'));
      const s = await online(srv.url, d.credential, minimistFacts(fx), sockets);
      const id = await deploy('exposure');
      await s.next('deploy');
      s.send(state(id, 'applied'));
      s.send({
        type: 'facts',
        facts: minimistFacts(fx, { patches: [{ patchId: fx.patchId, state: 'applied' }] }),
      });
      await waitDeployment(admin, id, (v) => v.devices.some((x) => x.state === 'applied'));
      const mine = async () =>
        (await admin.get('/v1/reports/exposure')).json.advisories.find((a: { advisory: string }) =>
          a.advisory.includes('CVE-2021-44906'),
        );
      const before = await mine();
      await admin.post(`/v1/deployments/${id}/revert`);
      await s.next('revert');
      s.send(state(id, 'reverted'));
      await waitDeployment(admin, id, (v) => v.devices.every((x) => x.state !== 'applied'));
      const after = await mine();
      assert.equal(after.devicesApplied, before.devicesApplied - 1);
      assert.equal(after.devicesStillExposed, before.devicesStillExposed + 1);
      const rep = (await admin.get('/v1/report')).json.advisories.find((a: { advisory: string }) =>
        a.advisory.includes('CVE-2021-44906'),
      );
      assert.equal(rep.devicesApplied, after.devicesApplied);
    },
  );

  test(
    `[${storage}] API input: NUL is a 400, no type coercion, authentication before validation, dashboard headers, failed auths audited`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin, enrollToken } = shared;
      const nul = await admin.post('/v1/policies', { name: 'a\u0000b', allowHotpatch: true, rings: [] });
      assert.equal(nul.status, 400, JSON.stringify(nul.json));
      const num = await enroll(srv.url, enrollToken, 'x', { host: 123 });
      assert.equal(num.status, 400, JSON.stringify(num.json));
      const anon = await fetch(`${srv.url}/v1/policies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 1 }),
      });
      assert.equal(anon.status, 401);
      const big = await fetch(`${srv.url}/v1/bundles`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer hpt_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx',
        },
        body: `"${'x'.repeat(8 * 1024 * 1024)}"`,
      });
      assert.equal(big.status, 401);
      const page = await fetch(`${srv.url}/`);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      await until('failed auth audited', async () =>
        (await admin.get('/v1/audit')).json.entries.some(
          (e: { action: string }) => e.action === 'auth.failed',
        ),
      );
    },
  );

  test(
    `[${storage}] a deleted device's agent enrolls again; the app keeps running`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin, enrollToken } = shared;
      const h = host('deleted');
      const app = await startApp(fx, {
        server: srv.url,
        enrollToken,
        host: h,
        service: 'svc',
        home: mkdtempSync(join(base, 'home-')),
      });
      apps.push(app);
      const find = async () =>
        (await admin.get('/v1/devices')).json.devices.find(
          (d: { host: string; connected: boolean }) => d.host === h && d.connected,
        ) as { id: string } | undefined;
      const first = await until('enrolled', find);
      assert.equal((await admin.del(`/v1/devices/${first.id}`)).status, 200);
      const second = await until('enrolled again', async () => {
        const d = await find();
        return d && d.id !== first.id ? d : null;
      });
      assert.notEqual(second.id, first.id);
      assert.equal((await app.get()).pid, app.pid);
    },
  );
}
