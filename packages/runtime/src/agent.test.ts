import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, test } from 'node:test';
// ws plays the server side here (a test double of our own protocol); the agent's client is ws too.
import { type WebSocket, WebSocketServer } from 'ws';
import { type AgentRuntime, agentOptionsFromEnv, backoffDelay, startAgent } from './agent.js';
import type { ApplyResult, RuntimeStatus } from './runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('backoff grows exponentially with jitter, capped', () => {
  assert.equal(
    backoffDelay(0, 500, 30_000, () => 0),
    250,
  );
  assert.equal(
    backoffDelay(0, 500, 30_000, () => 1),
    500,
  );
  assert.equal(
    backoffDelay(3, 500, 30_000, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(50, 500, 30_000, () => 1),
    30_000,
  );
});

test('options from the environment', () => {
  assert.equal(agentOptionsFromEnv({}), null);
  const o = agentOptionsFromEnv({
    HOTPATCH_SERVER: 'http://x:1',
    HOTPATCH_ENROLL_TOKEN: 't',
    HOTPATCH_LABELS: 'ring=canary, env=prod',
    HOTPATCH_AGENT_BACKOFF_MAX_MS: '100',
  });
  assert.deepEqual(o, {
    servers: ['http://x:1'],
    enrollToken: 't',
    labels: { ring: 'canary', env: 'prod' },
    backoffMaxMs: 100,
  });
});

function fakeRuntime(): AgentRuntime & { applied: number } {
  const patches: RuntimeStatus['patches'] = [];
  const rt = {
    service: 'svc',
    applied: 0,
    async apply(bytes: Buffer): Promise<ApplyResult> {
      rt.applied++;
      const patchId = JSON.parse(bytes.toString()).patchId as string;
      const state = patches.some((p) => p.patchId === patchId) ? 'already-applied' : 'applied';
      if (state === 'applied')
        patches.push({
          patchId,
          version: '1+hp.1',
          target: 't@1',
          advisories: [],
          state: 'applied',
          appliedAt: null,
          reason: null,
          modules: 1,
        });
      return { patchId, version: '1+hp.1', target: 't@1', state, modules: 1 };
    },
    revert(patchId: string): ApplyResult {
      patches.splice(
        patches.findIndex((p) => p.patchId === patchId),
        1,
      );
      return { patchId, version: '1', target: 't@1', state: 'applied', modules: 1 };
    },
    status(): RuntimeStatus {
      return {
        pid: process.pid,
        service: 'svc',
        node: process.version,
        engine: 'liveedit',
        moduleEngine: 'redirect',
        signatureEnforcement: true,
        trustedKeys: [],
        startedAt: '2025-01-01T00:00:00.000Z',
        patches: [...patches],
        packages: [],
      };
    },
  };
  return rt;
}

test('enrolls once, keeps the credential, applies deploys, reports states, reconnects and re-enrolls when the credential is unknown', async () => {
  let enrollments = 0;
  let refuse = false;
  const conns: WebSocket[] = [];
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      assert.equal(req.headers.authorization, 'Bearer hpe_enroll');
      assert.deepEqual(JSON.parse(body), { host: 'test-host', service: 'svc', labels: { ring: 'a' } });
      enrollments++;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ deviceId: 'dev_1', credential: `hpd_cred${enrollments}` }));
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refuse || !req.headers.authorization?.startsWith('Bearer hpd_cred')) {
      refuse = false;
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      conns.push(ws);
      ws.on('message', (d) => {
        messages.push(JSON.parse(String(d)) as Record<string, unknown>);
        for (const w of waiters.splice(0)) w();
      });
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const server = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const next = async (pred: (m: Record<string, unknown>) => boolean) => {
    for (;;) {
      const i = messages.findIndex(pred);
      if (i >= 0) return messages.splice(i, 1)[0] as Record<string, unknown>;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const opts = {
    servers: [server],
    enrollToken: 'hpe_enroll',
    labels: { ring: 'a' },
    host: 'test-host',
    stateDir: join(dir, 'state'),
    backoffInitialMs: 10,
    backoffMaxMs: 50,
    log: () => {},
  };
  const rt = fakeRuntime();
  const agent = startAgent(rt, opts);
  const hello = await next((m) => m.type === 'hello');
  assert.equal((hello.facts as RuntimeStatus).service, 'svc');
  assert.equal(enrollments, 1);
  assert.equal(readdirSync(join(dir, 'state')).length, 1, 'credential stored');

  // A deploy bigger than 64 KiB (64-bit frame length), then the same deploy again (a retry).
  const bundle = Buffer.from(JSON.stringify({ patchId: 'hp-1', pad: 'x'.repeat(100_000) })).toString(
    'base64',
  );
  conns.at(-1)?.send(JSON.stringify({ type: 'deploy', deploymentId: 'dep_1', patchId: 'hp-1', bundle }));
  assert.equal((await next((m) => m.type === 'state')).state, 'applying');
  assert.equal((await next((m) => m.type === 'state')).state, 'applied');
  const f = await next((m) => m.type === 'facts');
  assert.equal((f.facts as RuntimeStatus).patches[0]?.patchId, 'hp-1');
  conns.at(-1)?.send(JSON.stringify({ type: 'deploy', deploymentId: 'dep_1', patchId: 'hp-1', bundle }));
  assert.equal(
    (await next((m) => m.type === 'state')).state,
    'applied',
    'a retried deploy reports applied without applying twice',
  );
  assert.equal(rt.applied, 2);

  // Connection lost: reconnect (backoff), hello again, the last state re-sent.
  conns.at(-1)?.terminate();
  await next((m) => m.type === 'hello');
  assert.equal((await next((m) => m.type === 'state')).state, 'applied');
  assert.equal(enrollments, 1);

  // Revert.
  conns.at(-1)?.send(JSON.stringify({ type: 'revert', deploymentId: 'dep_1', patchId: 'hp-1' }));
  assert.equal((await next((m) => m.type === 'state')).state, 'reverted');
  await agent.stop();

  // A restarted process reuses the stored credential.
  const again = startAgent(fakeRuntime(), opts);
  await next((m) => m.type === 'hello');
  assert.equal(enrollments, 1);
  // The server no longer knows the credential: enroll again.
  refuse = true;
  conns.at(-1)?.terminate();
  await next((m) => m.type === 'hello');
  assert.equal(enrollments, 2);
  await again.stop();
  for (const c of conns) c.terminate();
  wss.close();
  http.close();
});

test('a credential stored by the previous agent (per server origin) is kept: no second enrollment', async () => {
  let enrollments = 0;
  const seen: string[] = [];
  const http = createServer((_req, res) => {
    enrollments++;
    res.writeHead(409).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(String(req.headers.authorization));
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const server = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const stateDir = join(dir, 'legacy');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const legacy = createHash('sha256').update(`${server}\nold-host\nsvc`).digest('hex').slice(0, 24);
  writeFileSync(
    join(stateDir, `device-${legacy}.json`),
    JSON.stringify({
      server,
      host: 'old-host',
      service: 'svc',
      deviceId: 'dev_old',
      credential: 'hpd_legacy',
    }),
  );
  const agent = startAgent(fakeRuntime(), {
    servers: [`${server}/`],
    host: 'old-host',
    stateDir,
    backoffInitialMs: 10,
    backoffMaxMs: 50,
    log: () => {},
  });
  for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await agent.stop();
  wss.close();
  http.close();
  assert.equal(agent.deviceId, 'dev_old');
  assert.equal(seen[0], 'Bearer hpd_legacy');
  assert.equal(enrollments, 0);
  assert.deepEqual(readdirSync(stateDir).length, 1);
});
