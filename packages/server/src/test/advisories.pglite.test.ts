/**
 * Vulnerability awareness end to end: a real server (PGlite), a real runtime process running
 * minimist 1.2.5 with the agent, CVE-2021-44906 imported as an OSV record, the device's status
 * moving Up to date → Not up to date (hotpatch available) → Hotpatched; the devices list's paging,
 * sorting, filtering and CSV; advisories showing affected devices and the way to fix them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import type { HotpatchServer } from '../index.js';
import { type AppProcess, client, fixture, readToken, startApp, until, waitDeployment } from './fixture.js';
import { MINIMIST_OSV } from './osv-fixtures.js';
import { enrollOk, minimistFacts, online } from './sim.js';
import { startTestServer } from './test-server.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-advisories-'));
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;
let enrollToken = '';
const apps: AppProcess[] = [];
const sockets: WebSocket[] = [];

before(async () => {
  ({ srv, admin } = await startTestServer({ dataDir }));
  enrollToken = readToken(srv.bootstrap.enrollTokenFile);
});

after(async () => {
  for (const s of sockets) s.terminate();
  await Promise.all(apps.map((a) => a.stop()));
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

type Device = {
  id: string;
  host: string;
  status: { kind: string; label: string; cves: string[]; action: string };
  notable: Array<{ name: string; vulnerable: string[]; remedy: string | null }>;
  otherComponents: number;
};
const deviceOn = async (host: string): Promise<Device | undefined> =>
  ((await admin.get('/v1/devices')).json.devices as Device[]).find((d) => d.host === host);
/** Every component of a device: the device page lists them all, the list only the notable ones. */
const componentsOf = async (id: string): Promise<Array<{ name: string }>> =>
  (await admin.get(`/v1/devices/${id}`)).json.device.components;

test('OSV import: minimist 1.2.5 goes Up to date → Not up to date: CVE-2021-44906 — hotpatch available → Hotpatched', async () => {
  const app = await startApp(fx, {
    server: srv.url,
    enrollToken,
    host: 'host-real',
    service: 'web',
    home: join(dataDir, 'home-real'),
  });
  apps.push(app);
  const published = await admin.postRaw('/v1/bundles', fx.bundle.toString());
  assert.equal(published.status, 201, JSON.stringify(published.json));
  const first = await until('the runtime reported minimist', async () => {
    const d = await deviceOn('host-real');
    if (!d) return null;
    // The device page names every component (the list only the notable ones); the list read after it.
    const loaded = await componentsOf(d.id);
    return loaded.some((c) => c.name === 'minimist') ? { loaded, ...(await deviceOn('host-real')) } : null;
  });
  const loaded = first.loaded.length;
  assert.equal(first.status?.label, 'Up to date', 'no advisory known yet: nothing says it is vulnerable');
  assert.deepEqual(first.notable, [], 'nothing needs attention yet');
  assert.equal(first.otherComponents, loaded, 'the list counts the components it does not name');

  const imp = await admin.post('/v1/advisories', MINIMIST_OSV);
  assert.equal(imp.status, 200, JSON.stringify(imp.json));
  assert.deepEqual(imp.json, { added: ['GHSA-xvch-5gv4-984h'], updated: [], unchanged: [] });
  assert.deepEqual((await admin.post('/v1/advisories', MINIMIST_OSV)).json.unchanged, [
    'GHSA-xvch-5gv4-984h',
  ]);

  const exposed = await deviceOn('host-real');
  assert.equal(exposed?.status.kind, 'not-up-to-date');
  assert.equal(exposed?.status.label, 'Not up to date: CVE-2021-44906 — hotpatch available');
  assert.equal(exposed?.status.action, `deploy hotpatch ${fx.patchId}`);
  assert.deepEqual(
    exposed?.notable.map((c) => [c.name, c.vulnerable]),
    [['minimist', ['CVE-2021-44906']]],
    'the list names only the vulnerable component',
  );
  assert.equal(exposed?.otherComponents, loaded - 1, 'and counts the rest');
  assert.equal((await app.get()).polluted, true);

  const adv = (await admin.get('/v1/advisories')).json.advisories as Array<Record<string, unknown>>;
  assert.equal(adv.length, 1);
  assert.deepEqual(adv[0]?.ids, ['CVE-2021-44906', 'GHSA-xvch-5gv4-984h']);
  assert.deepEqual(
    (adv[0]?.affected as Array<Record<string, unknown>>).map((a) => [
      a.device,
      a.version,
      a.remedy,
      a.patchId,
    ]),
    [['host-real/web', '1.2.5', 'hotpatch available', fx.patchId]],
  );
  assert.equal(adv[0]?.buildCommand, null, 'a hotpatch exists: nothing to build');

  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  await waitDeployment(admin, dep.json.deployment.id, (v) => v.devices.some((d) => d.state === 'applied'));
  const patched = await until('the applied hotpatch is in the facts', async () => {
    const d = await deviceOn('host-real');
    return d?.status.kind === 'hotpatched' ? d : null;
  });
  assert.match(patched.status.label, /^Hotpatched minimist 1\.2\.5\+hp\.\d+$/);
  assert.deepEqual(patched.status.cves, []);
  assert.equal((await app.get()).polluted, false, 'the exploit is gone');
  const settled = await waitDeployment(admin, dep.json.deployment.id, (v) => v.summary.settled);
  assert.equal((settled.deployment as { phase?: string }).phase, 'completed');
  assert.deepEqual((settled.deployment as { advisories?: string[] }).advisories, ['CVE-2021-44906']);
  const exp = await admin.post(`/v1/deployments/${dep.json.deployment.id}/expedite`);
  assert.equal(exp.status, 409, 'nothing left to expedite once completed');
  const listed = (await admin.get('/v1/deployments')).json.deployments[0];
  assert.equal(listed.phase, 'completed');
  assert.ok(listed.title, 'lists carry the title');
});

test('vulnerable without a hotpatch: baseline needed with the fixed release; list paging, sorting, filtering, CSV', async () => {
  // Simulated devices: one on minimist 1.2.5 in a policy without hotpatch, one already on 1.2.6.
  const pol = await admin.post('/v1/policies', {
    name: 'no-hotpatch',
    allowHotpatch: false,
    rings: [{ name: 'all', selector: { team: 'legacy' }, deferralDays: 0 }],
  });
  assert.equal(pol.status, 201, JSON.stringify(pol.json));
  const t = await admin.post('/v1/enroll-tokens', { name: 'legacy', labels: { team: 'legacy' } });
  const legacy = await enrollOk(srv.url, t.json.token, 'host-legacy', { service: 'api' });
  await online(srv.url, legacy.credential, minimistFacts(fx, { service: 'api' }), sockets);
  const fixed = await enrollOk(srv.url, enrollToken, 'host-fixed', { service: 'api' });
  await online(
    srv.url,
    fixed.credential,
    minimistFacts(fx, { service: 'api', packages: [{ name: 'minimist', version: '1.2.6', files: [] }] }),
    sockets,
  );
  const legacyView = await until('legacy device facts', async () => {
    const d = await deviceOn('host-legacy');
    return d && d.notable.length + d.otherComponents > 0 ? d : null;
  });
  assert.equal(legacyView.status.label, 'Not up to date: CVE-2021-44906 — baseline needed');
  assert.match(
    legacyView.status.action,
    /deploy minimist@1\.2\.6 with a restart \(hotpatch .*policy no-hotpatch does not allow hotpatch/,
  );
  assert.equal((await deviceOn('host-fixed'))?.status.label, 'Up to date');

  const page = await admin.get('/v1/devices?sort=status&limit=2');
  assert.equal(page.status, 200);
  assert.equal(page.json.total, 3);
  assert.deepEqual(
    page.json.devices.map((d: Device) => d.host),
    ['host-legacy', 'host-real'],
    'worst status first: not up to date, then hotpatched',
  );
  assert.equal(page.json.counts['not-up-to-date'], 1);
  assert.equal(page.json.counts.hotpatched, 1);
  assert.equal(page.json.counts['up-to-date'], 1);
  const next = await admin.get('/v1/devices?sort=status&limit=2&offset=2');
  assert.deepEqual(
    next.json.devices.map((d: Device) => d.host),
    ['host-fixed'],
  );
  const desc = await admin.get('/v1/devices?sort=-host');
  assert.deepEqual(
    desc.json.devices.map((d: Device) => d.host),
    ['host-real', 'host-legacy', 'host-fixed'],
  );
  const only = await admin.get('/v1/devices?status=not-up-to-date,failed');
  assert.deepEqual(
    only.json.devices.map((d: Device) => d.host),
    ['host-legacy'],
  );
  const q = await admin.get('/v1/devices?q=CVE-2021-44906');
  assert.deepEqual(
    q.json.devices.map((d: Device) => d.host),
    ['host-legacy'],
  );
  const bad = await admin.get('/v1/devices?sort=color');
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.field, /sort/);
  assert.equal((await admin.get('/v1/devices?status=broken')).status, 400);

  const csv = await fetch(`${srv.url}/v1/devices.csv?sort=host`, {
    headers: { authorization: `Bearer ${readToken(srv.bootstrap.adminTokenFile)}` },
  });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await csv.text()).trimEnd().split('\r\n');
  assert.equal(lines[0], 'id,host,service,policy,ring,status,cves,action,connected,lastSeen,node');
  assert.equal(lines.length, 4);
  assert.match(
    lines[2] ?? '',
    /host-legacy,api,no-hotpatch,all,Not up to date: CVE-2021-44906 — baseline needed,CVE-2021-44906,/,
  );

  // What if: the legacy device's policy disallows hotpatch, the 1.2.6 device does not need it.
  const ready = await admin.get(`/v1/bundles/${fx.patchId}/readiness`);
  assert.equal(ready.status, 200, JSON.stringify(ready.json));
  const byDevice = Object.fromEntries(
    ready.json.devices.map((d: { device: string; readiness: string; why: string }) => [d.device, d]),
  );
  assert.equal(byDevice['host-legacy/api'].readiness, 'ineligible');
  assert.equal(
    byDevice['host-legacy/api'].why,
    'policy no-hotpatch does not allow hotpatch (apply without restart)',
  );
  assert.equal(byDevice['host-fixed/api'].readiness, 'not-applicable');
  assert.equal(byDevice['host-real/web'].readiness, 'eligible');
  const onlyLegacy = await admin.get(`/v1/bundles/${fx.patchId}/readiness?policy=no-hotpatch`);
  assert.deepEqual(onlyLegacy.json.counts, { eligible: 0, ineligible: 1, notApplicable: 0 });
  assert.equal((await admin.get(`/v1/bundles/${fx.patchId}/readiness?policy=nope`)).status, 404);

  const adv = (await admin.get('/v1/advisories')).json.advisories[0];
  assert.deepEqual(
    adv.affected.map((a: Record<string, unknown>) => [a.device, a.remedy]),
    [['host-legacy/api', 'baseline needed']],
    'the hotpatched device is no longer affected; the 1.2.6 one never was',
  );
  assert.equal(adv.buildCommand, null, 'a hotpatch exists (the device just cannot take it)');
});

test('advisory import: bad records are 400 naming the field, nothing half-imported; viewers cannot import; delete', async () => {
  const bad = await admin.post('/v1/advisories', {
    advisories: [
      { ...MINIMIST_OSV, id: 'OK-1' },
      { ...MINIMIST_OSV, id: 'BAD-1', affected: 'x' },
    ],
  });
  assert.equal(bad.status, 400);
  assert.equal((await admin.get('/v1/advisories')).json.advisories.length, 1, 'OK-1 was not imported');
  const v = await admin.post('/v1/tokens', { name: 'adv-viewer', role: 'viewer' });
  const viewer = client(srv.url, v.json.token);
  assert.equal((await viewer.post('/v1/advisories', MINIMIST_OSV)).status, 403);
  assert.equal((await viewer.get('/v1/advisories')).status, 200);
  const newer = await admin.post('/v1/advisories', { ...MINIMIST_OSV, modified: '2025-01-01T00:00:00Z' });
  assert.deepEqual(newer.json.updated, ['GHSA-xvch-5gv4-984h']);
  assert.equal((await admin.del('/v1/advisories/NOPE')).status, 404);
  assert.equal((await admin.del('/v1/advisories/GHSA-xvch-5gv4-984h')).status, 200);
  assert.equal(
    (await deviceOn('host-legacy'))?.status.kind,
    'not-eligible',
    'no advisory: only the policy remains',
  );
});
