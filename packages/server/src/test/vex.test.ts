/**
 * Scanner-facing VEX over a real fleet: a real runtime process (minimist 1.2.5 from npm), the real
 * CVE-2021-44906 hotpatch, the server's GET /v1/vex and the CLI's `hotpatch vex --pid`. The same
 * component turns from affected to fixed when the hotpatch is applied, and back on revert; every
 * document validates (OpenVEX schema, CycloneDX library validator). `hotpatch status --json`
 * counts the apply and the revert.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HotpatchServer } from '../index.js';
import { validateCycloneDx, validateOpenVex } from '../vex/validate.js';
import { type AppProcess, type client, fixture, startApp, until, waitDeployment } from './fixture.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-vex-'));
const home = join(dataDir, 'home');
const bundleFile = join(dataDir, 'minimist.hpatch');
const cli = fileURLToPath(new URL('../../../cli/bin/hotpatch.js', import.meta.url));
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;
let app: AppProcess;

interface OpenVexDoc {
  statements: Array<{
    vulnerability: { name: string };
    products: Array<{ '@id': string }>;
    status: string;
    status_notes?: string;
    action_statement?: string;
  }>;
}

before(async () => {
  writeFileSync(bundleFile, fx.bundle);
  ({ srv, admin } = await startTestServer({ dataDir }));
  const enroll = (await admin.post('/v1/enroll-tokens', { name: 'vex' })).json.token as string;
  app = await startApp(fx, { server: srv.url, enrollToken: enroll, host: 'vex-a', service: 'web', home });
});

after(async () => {
  await app?.stop();
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function hotpatch(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, HOTPATCH_HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function localVex(): OpenVexDoc {
  const r = hotpatch('vex', '--pid', String(app.pid), '--bundle', bundleFile);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as OpenVexDoc;
  assert.equal(validateOpenVex(doc), null);
  return doc;
}

async function fleetVex(): Promise<OpenVexDoc> {
  const r = await admin.get('/v1/vex');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(validateOpenVex(r.json), null);
  const cdx = await admin.get('/v1/vex?format=cyclonedx');
  assert.equal(cdx.status, 200);
  assert.equal(await validateCycloneDx(cdx.json), null);
  return r.json as OpenVexDoc;
}

const minimist = (d: OpenVexDoc) => {
  const s = d.statements.find(
    (x) => x.vulnerability.name === 'CVE-2021-44906' && x.products[0]?.['@id'] === 'pkg:npm/minimist@1.2.5',
  );
  assert.ok(s, 'a statement for CVE-2021-44906 on minimist 1.2.5');
  return s;
};

const fleetStatus = async (want: string) =>
  until(`fleet VEX says ${want}`, async () => {
    const d = await fleetVex();
    return minimist(d).status === want ? minimist(d) : null;
  });

test('affected -> fixed after apply -> affected after revert, locally and fleet-wide; counters', async () => {
  const devices = await until('device connected with minimist loaded', async () => {
    const ds = (await admin.get('/v1/devices')).json.devices as Array<{ id: string; connected: boolean }>;
    if (ds.length !== 1 || !ds[0]?.connected) return null;
    // The list counts the components without known issues; the device page names them all.
    const full = (await admin.get(`/v1/devices/${ds[0].id}`)).json.device.components as Array<{
      name: string;
    }>;
    return full.some((c) => c.name === 'minimist') ? ds : null;
  });
  // Nothing published yet: the server has nothing to state, and says so.
  const none = await admin.get('/v1/vex');
  assert.equal(none.status, 404);
  assert.match(
    none.json.error.message,
    /no connected process loads a component a published hotpatch was built for/,
  );
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);

  const before = await fleetStatus('affected');
  assert.match(before.action_statement ?? '', new RegExp(`hotpatch available: apply ${fx.patchId}`));
  assert.match(before.status_notes ?? '', /vulnerable code runs in vex-a\/web pid \d+/);
  assert.equal(minimist(localVex()).status, 'affected');
  assert.equal((await app.get()).polluted, true);

  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  await waitDeployment(admin, dep.json.deployment.id, (v) => v.devices.some((d) => d.state === 'applied'));
  assert.equal((await app.get()).polluted, false, 'the exploit is gone in memory');
  const fixed = await fleetStatus('fixed');
  assert.match(
    fixed.status_notes ?? '',
    new RegExp(`vex-a/web pid ${app.pid} runs ${fx.patchId} \\(1\\.2\\.5\\+hp\\.1\\) in memory since 20`),
  );
  assert.match(fixed.status_notes ?? '', /on disk: minimist@1\.2\.5/);
  assert.equal(minimist(localVex()).status, 'fixed');
  const one = await admin.get(`/v1/vex?device=${devices[0]?.id}`);
  assert.equal(minimist(one.json as OpenVexDoc).status, 'fixed');
  assert.equal((await admin.get('/v1/vex?device=nope')).status, 404);
  assert.equal((await admin.get('/v1/vex?format=spdx')).status, 400);
  const st = hotpatch('status', '--pid', String(app.pid), '--json');
  assert.equal(st.status, 0, st.stderr);
  assert.deepEqual(JSON.parse(st.stdout).counters, { applies: 1, reverts: 0, failures: 0 });

  assert.equal((await admin.post(`/v1/deployments/${dep.json.deployment.id}/revert`)).status, 200);
  await waitDeployment(admin, dep.json.deployment.id, (v) => v.devices.some((d) => d.state === 'reverted'));
  assert.equal((await app.get()).polluted, true, 'reverted: the old code runs again');
  await fleetStatus('affected');
  assert.equal(minimist(localVex()).status, 'affected');
  const st2 = hotpatch('status', '--pid', String(app.pid), '--json');
  assert.deepEqual(JSON.parse(st2.stdout).counters, { applies: 1, reverts: 1, failures: 0 });

  // A local document written atomically to a file; CycloneDX from the CLI validates too.
  const out = join(dataDir, 'vex.cdx.json');
  const w = hotpatch(
    'vex',
    '--pid',
    String(app.pid),
    '--bundle',
    bundleFile,
    '--format',
    'cyclonedx',
    '--out',
    out,
  );
  assert.equal(w.status, 0, w.stderr);
  const { readFileSync } = await import('node:fs');
  assert.equal(await validateCycloneDx(JSON.parse(readFileSync(out, 'utf8'))), null);
  // Without --bundle, a process running no patch has nothing to state: exit 4, one line.
  const nothing = hotpatch('vex', '--pid', String(app.pid));
  assert.equal(nothing.status, 4);
  assert.match(nothing.stderr, /^hotpatch: nothing to state for pid \d+/);
});
