/**
 * Fault and abuse tests of the control plane (issue 13), run on PGlite and on PostgreSQL
 * (faults.pglite.test.ts, faults.postgres.test.ts): real servers, real WebSocket clients speaking
 * the device protocol as a hostile or broken device would, real runtime processes where the test
 * is about the agent, and servers in child processes where the test kills them (kill -9).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import type { HotpatchServer, ServerOptions } from '../index.js';
import { type AppProcess, client, fixture, startApp, until, waitDeployment } from './fixture.js';
import { type ServerProcess, spawnServer } from './server-proc.js';
import { connect, enroll, enrollOk, minimistFacts, online } from './sim.js';
import { dropSchema, freshSchema, startTestServer, TEST_DATABASE_URL } from './test-server.js';

export type Storage = 'pglite' | 'postgres';

/** Short timers so that liveness rules show within a test (production defaults are seconds). */
const tuning = { tickMs: 100, pingMs: 300, heartbeatMs: 300 };

export function faultSuite(storage: Storage): void {
  const fx = fixture();
  const base = mkdtempSync(join(tmpdir(), `hotpatch-faults-${storage}-`));
  const schema = freshSchema('hp_faults');
  const sockets: WebSocket[] = [];
  const apps: AppProcess[] = [];
  const procs: ServerProcess[] = [];
  let srv: HotpatchServer;
  let admin: ReturnType<typeof client>;
  let enrollToken = '';
  let adminToken = '';
  let n = 0;
  const storageOpts = (name: string): ServerOptions =>
    storage === 'postgres'
      ? { dataDir: join(base, name), databaseUrl: TEST_DATABASE_URL, databaseSchema: schema }
      : { dataDir: join(base, name) };
  const host = (what: string) => `${what}-${++n}`;

  before(async () => {
    ({ srv, admin, adminToken, enrollToken } = await startTestServer({ ...storageOpts('main'), ...tuning }));
    assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  });

  after(async () => {
    for (const s of sockets) s.terminate();
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all(procs.map((p) => p.kill9()));
    await srv?.close();
    if (storage === 'postgres') {
      await dropSchema(schema);
    }
    rmSync(base, { recursive: true, force: true });
  });

  /** A policy whose ring selects fleet=NAME, an enrollment token that gives that label, a deployment. */
  async function canary(name: string, rollback: Record<string, number>) {
    const p = await admin.post('/v1/policies', {
      name,
      allowHotpatch: true,
      rings: [{ name: 'all', selector: { fleet: name }, deferralDays: 0 }],
      rollback,
    });
    assert.equal(p.status, 201, JSON.stringify(p.json));
    const t = await admin.post('/v1/enroll-tokens', { name, labels: { fleet: name } });
    assert.equal(t.status, 201, JSON.stringify(t.json));
    return { token: t.json.token as string };
  }

  async function deploy(policy: string): Promise<string> {
    const d = await admin.post('/v1/deployments', { patchId: fx.patchId, policy });
    assert.equal(d.status, 201, JSON.stringify(d.json));
    return d.json.deployment.id as string;
  }

  const state = (id: string, s: string, extra: Record<string, unknown> = {}) => ({
    type: 'state',
    deploymentId: id,
    patchId: fx.patchId,
    state: s,
    ...extra,
  });

  test(
    `[${storage}] reports for deployments a device was never sent are refused; error counts are bounded; rollback counts distinct devices and the audit names them`,
    { timeout: 60_000 },
    async () => {
      const c = await canary('victims', { maxFailures: 2, maxErrors: 100 });
      const v1 = await enrollOk(srv.url, c.token, host('victim'));
      const v2 = await enrollOk(srv.url, c.token, host('victim'));
      const s1 = await online(srv.url, v1.credential, minimistFacts(fx), sockets);
      const id = await deploy('victims');
      assert.equal((await s1.next('deploy')).deploymentId, id);
      s1.send(state(id, 'applied'));
      await waitDeployment(admin, id, (v) =>
        v.devices.some((d) => d.deviceId === v1.deviceId && d.state === 'applied'),
      );

      // Two devices enrolled with the ordinary token, never part of the deployment, report failures.
      const attackers = [];
      for (let i = 0; i < 2; i++) {
        const a = await enrollOk(srv.url, enrollToken, host('attacker'));
        const s = await online(srv.url, a.credential, minimistFacts(fx, { packages: [] }), sockets);
        s.send(state(id, 'failed', { error: { code: 'E_X', message: 'forged' } }));
        s.send({ type: 'errors', patchId: fx.patchId, count: 1_000_000 });
        attackers.push(s);
      }
      for (const s of attackers) assert.equal((await s.next('error')).code, 'E_NOT_PLANNED');
      // A device that was sent the deployment reports a million errors: it counts as a bounded few.
      s1.send({ type: 'errors', patchId: fx.patchId, count: 1_000_000 });
      s1.send(state(id, 'failed', { error: { code: 'E_VERIFY', message: 'once' } }));
      s1.send(state(id, 'failed', { error: { code: 'E_VERIFY', message: 'twice' } }));
      const v = await waitDeployment(admin, id, (x) =>
        x.devices.some(
          (d) => d.deviceId === v1.deviceId && d.state === 'failed' && /twice/.test(d.reason ?? ''),
        ),
      );
      assert.equal(v.deployment.state, 'active', 'one device failing (twice) is one failure, not two');
      const errs = (await admin.get(`/v1/deployments/${id}`)).json.devices.find(
        (d: { deviceId: string }) => d.deviceId === v1.deviceId,
      ).errors as number;
      assert.ok(errs >= 1 && errs <= 10, `errors counted: ${errs}`);
      assert.equal(
        v.devices.filter((d) => d.deviceId !== v1.deviceId && d.deviceId !== v2.deviceId).length,
        0,
      );

      // A second real device that was sent the deployment fails: two distinct devices trip the rule.
      const s2 = await online(srv.url, v2.credential, minimistFacts(fx, { pid: 777 }), sockets);
      assert.equal((await s2.next('deploy')).deploymentId, id);
      s2.send(state(id, 'failed', { error: { code: 'E_VERIFY', message: 'v2 failed' } }));
      const rv = await waitDeployment(admin, id, (x) => x.deployment.state === 'reverted');
      assert.match(rv.deployment.revertReason ?? '', /2 devices failed/);
      const entry = (await admin.get('/v1/audit')).json.entries.find(
        (e: { action: string; subject: string }) =>
          e.action === 'deployment.auto-rollback' && e.subject === id,
      );
      assert.ok(entry, 'auto-rollback audited');
      const named = (entry.detail.devices as Array<{ deviceId: string; reason: string }>).map(
        (d) => d.deviceId,
      );
      assert.deepEqual(named.sort(), [v1.deviceId, v2.deviceId].sort());
      assert.ok(
        (await admin.get('/v1/audit')).json.entries.some(
          (e: {
            action: string;
            subject: string;
            detail: { state: string; devices: Array<{ deviceId: string }> };
          }) =>
            e.action === 'device.state' &&
            e.subject === id &&
            e.detail.state === 'failed' &&
            e.detail.devices.some((d) => d.deviceId === v2.deviceId),
        ),
        'device-reported states are audited',
      );
    },
  );

  test(
    `[${storage}] a device flooding messages is disconnected (per-device rate limit)`,
    { timeout: 60_000 },
    async () => {
      const a = await enrollOk(srv.url, enrollToken, host('flood'));
      const s = await online(srv.url, a.credential, minimistFacts(fx, { packages: [] }), sockets);
      const facts = minimistFacts(fx, { packages: [] });
      for (let i = 0; i < 1000 && s.ws.readyState === s.ws.OPEN; i++) s.send({ type: 'facts', facts });
      const closed = await Promise.race([s.closed, new Promise((r) => setTimeout(() => r(null), 5000))]);
      assert.ok(closed, 'flooding device was not disconnected');
      assert.equal((closed as { code: number }).code, 1008);
    },
  );

  test(
    `[${storage}] enrollment: an existing identity cannot be taken over with the enrollment token; token labels win`,
    { timeout: 60_000 },
    async () => {
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
    `[${storage}] bad device input (NUL, pid >= 2^31) is refused at the edge and does not poison other devices' writes`,
    { timeout: 60_000 },
    async () => {
      const c = await canary('poison', {});
      const good = await enrollOk(srv.url, c.token, host('good'));
      const bad = await enrollOk(srv.url, c.token, host('bad'));
      const g = await online(srv.url, good.credential, minimistFacts(fx), sockets);
      const b = await online(srv.url, bad.credential, minimistFacts(fx, { pid: 999 }), sockets);
      const id = await deploy('poison');
      await g.next('deploy');
      await b.next('deploy');
      b.send(state(id, 'failed', { reason: 'nul\u0000here' }));
      g.send(state(id, 'applied'));
      assert.equal((await b.next('error')).code, 'E_VALIDATION');
      await waitDeployment(
        admin,
        id,
        (v) => v.devices.some((d) => d.deviceId === good.deviceId && d.state === 'applied'),
        8000,
      );
      b.send({ type: 'facts', facts: minimistFacts(fx, { pid: 2 ** 31 }) });
      assert.equal((await b.next('error')).code, 'E_VALIDATION');
      b.send({ type: 'facts', facts: minimistFacts(fx, { node: 'v22\u0000' }) });
      assert.equal((await b.next('error')).code, 'E_VALIDATION');
    },
  );

  test(`[${storage}] limits: message size, connections per device`, { timeout: 60_000 }, async () => {
    const d = await enrollOk(srv.url, enrollToken, host('big'));
    const s = await connect(srv.url, d.credential, sockets);
    s.send({
      type: 'hello',
      protocol: 1,
      facts: minimistFacts(fx, { service: 'x'.repeat(5 * 1024 * 1024) }),
    });
    assert.equal((await s.closed).code, 1009);
    const h = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    assert.equal(h.status, 200);

    const many = [];
    for (let i = 0; i < 6; i++)
      many.push(await online(srv.url, d.credential, minimistFacts(fx, { pid: 100 + i }), sockets));
    const first = await Promise.race([many[0]?.closed, new Promise((r) => setTimeout(() => r(null), 3000))]);
    assert.ok(first, 'the oldest connection of a device over the limit is closed');
    assert.equal(many[5]?.ws.readyState, many[5]?.ws.OPEN);
  });

  test(
    `[${storage}] liveness: a half-open connection (no pongs) is dropped and shown disconnected`,
    { timeout: 60_000 },
    async () => {
      const d = await enrollOk(srv.url, enrollToken, host('halfopen'));
      const s = await online(srv.url, d.credential, minimistFacts(fx, { packages: [] }), sockets);
      await until(
        'connected',
        async () => (await admin.get(`/v1/devices/${d.deviceId}`)).json.device.connected,
      );
      // Stop reading: pings go unanswered, as with a peer that vanished without a FIN.
      (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await until(
        'shown disconnected',
        async () => (await admin.get(`/v1/devices/${d.deviceId}`)).json.device.connected === false,
        5000,
      );
    },
  );

  test(
    `[${storage}] reports: a device reverted by a fleet-wide revert counts as exposed again`,
    { timeout: 60_000 },
    async () => {
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

  test(
    `[${storage}] kill -9: devices of a dead server or replica are not shown connected`,
    { timeout: 240_000 },
    async () => {
      const opts = { ...storageOpts(`killed-${n}`), port: 0, trustedKeys: [fx.publicKeyFile], ...tuning };
      const a = await spawnServer(opts);
      procs.push(a);
      // PostgreSQL: a replica of the shared database (tokens of its first start); PGlite: a server of its own.
      const own = (f: string) => readFileSync(join(opts.dataDir, f), 'utf8').trim();
      const pgsql = storage === 'postgres';
      const aAdmin = client(a.url, pgsql ? adminToken : own('admin-token'));
      const d = await enrollOk(a.url, pgsql ? enrollToken : own('enroll-token'), host('dies'));
      const s = await online(a.url, d.credential, minimistFacts(fx, { packages: [] }), sockets);
      await until(
        'connected',
        async () => (await aAdmin.get(`/v1/devices/${d.deviceId}`)).json.device.connected,
      );
      await a.kill9();
      await s.closed;
      if (storage === 'postgres') {
        // Another replica (the in-process one) sees the dead replica's device as disconnected.
        await until(
          'dead replica expires',
          async () => (await admin.get(`/v1/devices/${d.deviceId}`)).json.device.connected === false,
          5000,
        );
      } else {
        const b = await spawnServer(opts);
        procs.push(b);
        const bAdmin = client(b.url, own('admin-token'));
        assert.equal((await bAdmin.get(`/v1/devices/${d.deviceId}`)).json.device.connected, false);
      }
    },
  );
}

/** HOTPATCH_SERVER with several replicas: kill -9 of one, the device converges through another (PostgreSQL). */
export function failoverSuite(): void {
  const fx = fixture();
  const base = mkdtempSync(join(tmpdir(), 'hotpatch-failover-'));
  const schema = freshSchema('hp_failover');
  const procs: ServerProcess[] = [];
  const apps: AppProcess[] = [];
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all(procs.map((p) => p.kill9()));
    await dropSchema(schema);
    rmSync(base, { recursive: true, force: true });
  });

  test(
    '[postgres] HOTPATCH_SERVER=A,B: kill -9 of replica A, the device converges through B and keeps its patch',
    { timeout: 240_000 },
    async () => {
      const opts = (name: string) => ({
        dataDir: join(base, name),
        databaseUrl: TEST_DATABASE_URL,
        databaseSchema: schema,
        port: 0,
        trustedKeys: [fx.publicKeyFile],
        ...tuning,
      });
      const a = await spawnServer(opts('a'));
      procs.push(a);
      const b = await spawnServer(opts('b'));
      procs.push(b);
      const token = readFileSync(join(base, 'a', 'admin-token'), 'utf8').trim();
      const enrollToken = readFileSync(join(base, 'a', 'enroll-token'), 'utf8').trim();
      const apiB = client(b.url, token);
      assert.equal((await apiB.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
      const app = await startApp(fx, {
        server: `${a.url},${b.url}`,
        enrollToken,
        host: 'failover',
        service: 'svc',
        home: mkdtempSync(join(base, 'home-')),
      });
      apps.push(app);
      const health = async (url: string) =>
        (await (await fetch(`${url}/healthz`)).json()) as { devicesConnected: number };
      await until('connected to A (the first URL)', async () => (await health(a.url)).devicesConnected === 1);
      const dep = await apiB.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
      assert.equal(dep.status, 201, JSON.stringify(dep.json));
      const id = dep.json.deployment.id as string;
      await waitDeployment(apiB, id, (v) => v.devices.some((d) => d.state === 'applied'));
      assert.equal((await app.get()).polluted, false);
      await a.kill9();
      await until('reconnected through B', async () => (await health(b.url)).devicesConnected === 1);
      const r = await app.get();
      assert.equal(r.polluted, false, 'the patch is still applied');
      assert.equal(r.pid, app.pid);
      // B drives the device now: a fleet-wide revert reaches it.
      await apiB.post(`/v1/deployments/${id}/revert`);
      await waitDeployment(apiB, id, (v) => v.devices.every((d) => d.state === 'reverted'));
      assert.equal((await app.get()).polluted, true);
    },
  );
}

/** Agent start-up with malformed settings: the app runs, one warning, no agent (storage-independent). */
export function agentEnvSuite(): void {
  const fx = fixture();
  for (const [name, value] of [
    ['HOTPATCH_SERVER', 'not-a-url'],
    ['HOTPATCH_AGENT_BACKOFF_MAX_MS', 'soon'],
    ['HOTPATCH_LABELS', '=,==,x'],
  ] as const) {
    test(`agent: ${name}=${value} leaves the app running with one warning`, { timeout: 60_000 }, async () => {
      const home = mkdtempSync(join(tmpdir(), 'hotpatch-agent-env-'));
      const app = await startApp(fx, {
        server: name === 'HOTPATCH_SERVER' ? value : 'http://127.0.0.1:9',
        enrollToken: 'hpe_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx',
        host: 'env',
        service: 'env',
        home,
        env: { [name]: value },
      });
      try {
        assert.equal((await app.get()).polluted, true);
        const warnings = app
          .stderr()
          .split('\n')
          .filter((l) => l.includes(name));
        assert.equal(warnings.length, 1, `one warning naming ${name}; stderr: ${app.stderr()}`);
        assert.doesNotMatch(app.stderr(), /\n\s+at /, 'no stack trace');
      } finally {
        await app.stop();
        rmSync(home, { recursive: true, force: true });
      }
    });
  }
}
