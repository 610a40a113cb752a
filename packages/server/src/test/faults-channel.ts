/**
 * Fault tests of the device channel (run by faultSuite in faults.ts): devices reporting for
 * deployments they were never sent, flooding, sending bad input or oversized messages, going
 * half-open.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FaultHarness } from './faults.js';
import { until, waitDeployment } from './fixture.js';
import { connect, enrollOk, minimistFacts, online } from './sim.js';

export function channelFaults(shared: FaultHarness): void {
  const { storage, fx, sockets, host, canary, deploy, state } = shared;

  test(
    `[${storage}] reports for deployments a device was never sent are refused; error counts are bounded; rollback counts distinct devices and the audit names them`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin, enrollToken } = shared;
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
      const { srv, enrollToken } = shared;
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
    `[${storage}] bad device input (NUL, pid >= 2^31) is refused at the edge and does not poison other devices' writes`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin } = shared;
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

  test(
    `[${storage}] a device reconnecting whose hello is not yet in is never recorded ineligible`,
    { timeout: 60_000 },
    async () => {
      const { srv, admin } = shared;
      const c = await canary('prehello', {});
      const late = await enrollOk(srv.url, c.token, host('late'));
      const peer = await enrollOk(srv.url, c.token, host('peer'));
      // `late` has said hello before (its facts are stored), then reconnects and is slow to say it
      // again, as a failing-over device on a loaded replica is.
      (await online(srv.url, late.credential, minimistFacts(fx), sockets)).ws.close();
      await until(
        'late disconnected',
        async () => !(await admin.get(`/v1/devices/${late.deviceId}`)).json.device.connected,
      );
      const l = await connect(srv.url, late.credential, sockets);
      const p = await online(srv.url, peer.credential, minimistFacts(fx, { pid: 31 }), sockets);
      const id = await deploy('prehello');
      // The reconcile that sent `peer` its deploy looked at `late`'s channel first, in one batch.
      await p.next('deploy');
      const v = await waitDeployment(admin, id, (x) =>
        x.devices.some((d) => d.deviceId === peer.deviceId && d.state === 'applying'),
      );
      const row = v.devices.find((d) => d.deviceId === late.deviceId);
      assert.notEqual(row?.state, 'ineligible', `recorded ${JSON.stringify(row)}`);
      l.send({ type: 'hello', protocol: 1, facts: minimistFacts(fx, { pid: 32 }) });
      assert.equal((await l.next('deploy')).deploymentId, id);
    },
  );

  test(`[${storage}] limits: message size, connections per device`, { timeout: 60_000 }, async () => {
    const { srv, enrollToken } = shared;
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
      const { srv, admin, enrollToken } = shared;
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
}
