import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import {
  generateSigningKey,
  HotpatchError,
  loadPrivateKey,
  serializeBundle,
  signBundle,
} from '@hotpatch/core';
import { createClient, type Method } from '@hotpatch/protocol/client';
import { preloadPath } from '@hotpatch/runtime';
import { createServer, type HotpatchServer } from '@hotpatch/server';
import type { Command } from 'commander';

const run = promisify(execFile);

/**
 * `hotpatch demo`: the whole product in two minutes, on this machine only. A control plane on
 * embedded storage, a real Express 4.19.2 service (CVE-2024-43796, XSS in res.redirect) under
 * light load, the exploit shown, the hotpatch built from the npm registry, published, deployed,
 * applied in memory; the exploit gone, same pid, no request failed. Cleans up after itself.
 */
const SERVICE = `
const express = require('express');
const app = express();
app.get('/go', (req, res) => res.redirect(String(req.query.to || '/')));
app.get('/', (req, res) => res.send('hello from pid ' + process.pid));
const server = app.listen(0, '127.0.0.1', () => process.send && process.send({ port: server.address().port }));
`;

const EXPLOIT_URL = '/go?to=javascript:alert(document.cookie)';

interface DemoOptions {
  keep?: boolean;
  port: number;
  vexOut?: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'guided demo: a control plane, a real vulnerable Express service under load, the exploit, the hotpatch built, published, deployed and applied in memory, the exploit gone (no restart)',
    )
    .option('--keep', 'keep the server and service running until Ctrl-C, to look at the dashboard')
    .option('--port <n>', 'control plane port (0: any free port)', (v) => Number(v), 0)
    .option(
      '--vex-out <dir>',
      'also write the fleet VEX documents (OpenVEX, CycloneDX) after the patch into this directory',
    )
    .action(async (opts: DemoOptions) => demo(opts));
}

async function demo(opts: DemoOptions): Promise<void> {
  if (opts.vexOut && !(existsSync(opts.vexOut) && statSync(opts.vexOut).isDirectory()))
    throw new HotpatchError('E_IO', `--vex-out ${opts.vexOut}: not a directory`);
  const dir = mkdtempSync(join(tmpdir(), 'hotpatch-demo-'));
  const step = (n: number, text: string) => process.stdout.write(`\n[${n}/8] ${text}\n`);
  const say = (text: string) => process.stdout.write(`      ${text}\n`);
  let server: HotpatchServer | null = null;
  let service: ChildProcess | null = null;
  let load: Load | null = null;
  const cleanup = async () => {
    load?.stop();
    service?.kill('SIGKILL');
    await server?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    step(1, 'Signing key and control plane (embedded storage)');
    const key = generateSigningKey();
    const pub = join(dir, 'hotpatch.pub');
    writeFileSync(pub, key.publicKeyPem);
    process.env.HOTPATCH_CACHE ||= join(dir, 'cache');
    server = await createServer({
      dataDir: join(dir, 'server'),
      port: opts.port,
      trustedKeys: [pub],
      tickMs: 500,
    });
    const admin = readFileSync(server.bootstrap.adminTokenFile!, 'utf8').trim();
    const api = client(server.url, admin);
    // Devices enrolling with this token are labelled ring=canary (labels come from the token, not the device).
    const { token: enroll } = (await api('POST', '/v1/enroll-tokens', {
      name: 'demo-canary',
      labels: { ring: 'canary' },
    })) as { token: string };
    say(
      `server ${server.url} (dashboard: ${server.url}/, admin token in ${server.bootstrap.adminTokenFile})`,
    );

    step(2, 'A service on Express 4.19.2 (CVE-2024-43796), from the npm registry');
    const app = join(dir, 'service');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'demo-service', version: '1.0.0', private: true }),
    );
    writeFileSync(join(app, 'server.js'), SERVICE);
    say('npm install express@4.19.2 ...');
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', 'express@4.19.2'], {
      cwd: app,
    });
    service = spawn(process.execPath, ['--require', preloadPath, 'server.js'], {
      cwd: app,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        HOTPATCH_HOME: join(dir, 'runtime'),
        HOTPATCH_TRUSTED_KEYS: pub,
        HOTPATCH_SERVICE: 'demo-service',
        HOTPATCH_SERVER: server.url,
        HOTPATCH_ENROLL_TOKEN: enroll,
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      service!.once('exit', (c) => reject(new HotpatchError('E_PROCESS', `demo service exited (${c})`)));
      service!.once('message', (m: { port: number }) => resolve(m.port));
    });
    const base = `http://127.0.0.1:${port}`;
    say(`service pid ${service.pid} on ${base}, started with the hotpatch runtime`);
    load = startLoad(base);
    say('light load running: 20 requests a second');

    step(3, 'The service enrolls with the control plane');
    const device = await until(async () => {
      const r = (await api('GET', '/v1/devices')) as {
        devices?: Array<{ id: string; host: string; service: string }>;
      };
      return r.devices?.find((d) => d.service === 'demo-service') ?? null;
    }, 30_000);
    say(`device ${device.host}/${device.service} enrolled`);

    step(4, 'The exploit works');
    const before = await exploit(base);
    say(`GET ${EXPLOIT_URL}  ->  ${before.snippet}`);
    if (!before.vulnerable) throw new HotpatchError('E_PROCESS', 'the demo service did not show the exploit');
    say('the redirect page links to javascript: (XSS)');

    step(5, 'Build the hotpatch from the two registry versions (4.19.2 -> 4.20.0)');
    const result = buildPatch({
      from: await resolveSpec('npm:express@4.19.2', (m) => say(m)),
      to: await resolveSpec('npm:express@4.20.0', (m) => say(m)),
      advisories: ['CVE-2024-43796'],
      severity: 'moderate',
      title: 'express res.redirect XSS (CVE-2024-43796)',
    });
    if (!result.payload)
      throw new HotpatchError('E_NOT_LIVE', 'the builder refused the express fix as a hotpatch');
    for (const c of result.changes.filter((x) => x.verdict === 'live'))
      say(`live: ${c.file}: ${c.name} (${c.kind})`);
    const bundle = serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem)));
    const patchId = result.payload.patchId;

    step(6, 'Publish it, and deploy it through a policy (ring canary)');
    await api('POST', '/v1/bundles', undefined, bundle);
    await api('POST', '/v1/policies', {
      name: 'demo',
      allowHotpatch: true,
      rings: [{ name: 'canary', selector: { ring: 'canary' }, deferralDays: 0 }],
      rollback: {},
    });
    const dep = (await api('POST', '/v1/deployments', { patchId, policy: 'demo' })) as {
      deployment: { id: string };
    };
    say(`published ${patchId} (${result.payload.version}); deployment ${dep.deployment.id}`);

    step(7, 'Wait for the device to apply it in memory');
    const applied = await until(async () => {
      const v = (await api('GET', `/v1/deployments/${dep.deployment.id}`)) as {
        devices: Array<{ state: string; reason: string | null }>;
      };
      const states = v.devices.map((d) => d.state);
      if (states.some((s) => s === 'failed' || s === 'ineligible')) {
        throw new HotpatchError(
          'E_APPLY',
          `deployment: ${v.devices.map((d) => `${d.state} ${d.reason ?? ''}`).join('; ')}`,
        );
      }
      return states.length > 0 && states.every((s) => s === 'applied') ? v : null;
    }, 60_000);
    say(`applied on ${applied.devices.length} device(s)`);

    step(8, 'The exploit is gone; same process, nothing dropped');
    const after = await exploit(base);
    const pid = await (await fetch(`${base}/`)).text();
    say(`GET ${EXPLOIT_URL}  ->  ${after.snippet}`);
    say(`${pid}; load: ${load.ok} requests served, ${load.failed} failed`);
    if (after.vulnerable)
      throw new HotpatchError('E_VERIFY', 'the hotpatch was reported applied but the exploit still works');
    if (load.failed > 0)
      throw new HotpatchError(
        'E_PROCESS',
        `${load.failed} requests failed during the demo (first: ${load.firstFailure})`,
      );
    // What scanners are told now: express 4.19.2 is still on disk, the fix runs in memory.
    const vex = (await api('GET', '/v1/vex')) as {
      statements: Array<{
        vulnerability: { name: string };
        products: Array<{ '@id': string }>;
        status: string;
      }>;
    };
    for (const s of vex.statements)
      say(`VEX for scanners: ${s.vulnerability.name} on ${s.products[0]?.['@id']}: ${s.status}`);
    if (opts.vexOut) {
      writeFileSync(join(opts.vexOut, 'demo.openvex.json'), `${JSON.stringify(vex, null, 2)}\n`);
      const cdx = await api('GET', '/v1/vex?format=cyclonedx');
      writeFileSync(join(opts.vexOut, 'demo.vex.cdx.json'), `${JSON.stringify(cdx, null, 2)}\n`);
      say(`VEX documents written to ${opts.vexOut}`);
    }
    say(`fixed live, no restart. Dashboard: ${server.url}/ (sign in with ${admin})`);
    if (opts.keep) {
      say('running until Ctrl-C ...');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await cleanup();
  }
}

type Api = (method: Method, path: string, body?: unknown, raw?: string) => Promise<unknown>;

/** The protocol's client; a refusal ends the demo with the call and the server's answer. */
function client(base: string, token: string): Api {
  const c = createClient({ base, token });
  return async (method, path, body, raw) => {
    const r = await c.send(method, path, body, { raw });
    if (r.status >= 400)
      throw new HotpatchError('E_PROCESS', `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
    return r.json;
  };
}

async function until<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new HotpatchError('E_PROCESS', `timed out after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function exploit(base: string): Promise<{ vulnerable: boolean; snippet: string }> {
  const res = await fetch(`${base}${EXPLOIT_URL}`, { redirect: 'manual', headers: { accept: 'text/html' } });
  const body = await res.text();
  return {
    vulnerable: /href="javascript:/i.test(body),
    snippet: `${res.status} ${body.trim().slice(0, 90)}`,
  };
}

interface Load {
  ok: number;
  failed: number;
  /** What the first failed request got (a status or a socket error). */
  firstFailure: string | null;
  stop(): void;
}

/**
 * 20 requests a second, each on a connection of its own: a kept-alive connection that the server
 * closes after 5 s idle (the demo's own process stalls while its embedded database works) races the
 * next request and fails it on the client's side, which is not a request the service failed.
 */
function startLoad(base: string): Load {
  const load: Load = { ok: 0, failed: 0, firstFailure: null, stop: () => clearInterval(timer) };
  const fail = (why: string) => {
    load.failed++;
    load.firstFailure ??= why;
  };
  const timer = setInterval(() => {
    get(`${base}/`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) load.ok++;
        else fail(`HTTP ${code}`);
      });
      res.on('error', (e) => fail(e.message));
    }).on('error', (e) => fail(e.message));
  }, 50);
  return load;
}
