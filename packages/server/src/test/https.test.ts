import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HotpatchServer } from '../index.js';
import { type AppProcess, fixture, readToken, startApp, until } from './fixture.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dir = mkdtempSync(join(tmpdir(), 'hotpatch-https-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
let srv: HotpatchServer;
let app: AppProcess | null = null;

before(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  ({ srv } = await startTestServer({ dataDir: join(dir, 'data'), cert, key }));
});

after(async () => {
  await app?.stop();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${srv.url}${path}`,
      { ca: readFileSync(cert), headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS with --cert/--key: API and the device channel (wss) work', async () => {
  assert.match(srv.url, /^https:/);
  const token = readToken(srv.bootstrap.adminTokenFile);
  assert.equal((await get('/v1/policies', token)).status, 200);
  process.env.NODE_EXTRA_CA_CERTS = cert; // inherited by the app: the agent trusts the test CA
  try {
    app = await startApp(fx, {
      server: srv.url,
      enrollToken: readToken(srv.bootstrap.enrollTokenFile),
      host: 'tls-host',
      service: 'web',
      home: join(dir, 'home'),
    });
  } finally {
    delete process.env.NODE_EXTRA_CA_CERTS;
  }
  await until('device connected over wss', async () => {
    const d = (await get('/v1/devices', token)).body.devices as Array<{ connected: boolean }>;
    return d.length === 1 && d[0]?.connected;
  });
});
