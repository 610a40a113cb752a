/**
 * Stored status columns (migration 012) against the status computed from scratch, for a fleet in
 * many states, after each kind of event: enrollment, facts, advisory import and delete, publish,
 * policy create/pause/resume, deployment rows (in progress, failed, applied), revert, device
 * PATCH, revoke and delete. Also: the list's SQL order and filters against the former in-memory
 * ones. Run on PGlite and PostgreSQL (device-status.*.test.ts).
 */
import assert from 'node:assert/strict';
import { DEVICE_STATUS_KINDS } from '@hotpatch/protocol/words';
import type WebSocket from 'ws';
import { loadStatusSources } from '../advisories/load.js';
import type { Database } from '../db/types.js';
import { assessDevice } from '../fleet/device-assess.js';
import { refreshStatus } from '../fleet/status-columns.js';
import type { HotpatchServer } from '../index.js';
import { listDevices, listPolicies } from '../store.js';
import { client, type Fixture, readToken, until, waitDeployment } from './fixture.js';
import { MINIMIST_OSV } from './osv-fixtures.js';
import { enrollOk, minimistFacts, online, type Sim } from './sim.js';

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

/** Devices whose stored columns differ from a fresh computation (after refreshing stale ones). */
async function mismatches(db: Database): Promise<string[]> {
  await refreshStatus(db);
  const stored = await db.query(
    `SELECT id, host, service, status_kind, status_label, status_cves, status_action, status_policy, status_ring,
            status_eligible, status_reasons, status_clean, status_dirty FROM devices`,
  );
  const [policies, devices, sources] = await Promise.all([
    listPolicies(db),
    listDevices(db),
    loadStatusSources(db),
  ]);
  const out: string[] = [];
  for (const d of devices) {
    const s = stored.find((r) => r.id === d.id);
    const fresh = assessDevice(d, policies, sources);
    const want = {
      status: fresh.status,
      policy: fresh.place?.policy.name ?? null,
      ring: fresh.place?.ring?.name ?? null,
      eligible: fresh.reasons.length === 0,
      reasons: fresh.reasons,
      clean: true,
    };
    const got = s && {
      status: {
        kind: s.status_kind,
        label: s.status_label,
        cves: json(s.status_cves),
        action: s.status_action,
      },
      policy: s.status_policy,
      ring: s.status_ring,
      eligible: s.status_eligible,
      reasons: json(s.status_reasons),
      clean: s.status_clean === s.status_dirty,
    };
    try {
      assert.deepEqual(got, want);
    } catch {
      out.push(`${d.host}/${d.service}: stored ${JSON.stringify(got)} fresh ${JSON.stringify(want)}`);
    }
  }
  if (stored.length !== devices.length) out.push(`${stored.length} rows for ${devices.length} devices`);
  return out;
}

/** Stored equals fresh for every device (hub writes land asynchronously: polled, briefly). */
async function consistent(db: Database, after: string): Promise<void> {
  let last: string[] = [];
  try {
    await until(after, async () => (last = await mismatches(db)).length === 0, 5_000);
  } catch {
    assert.fail(
      `after ${after}: stored status differs from the status computed from scratch:\n${last.join('\n')}`,
    );
  }
}

type View = {
  id: string;
  host: string;
  service: string;
  policy: string | null;
  lastSeen: string | null;
  labels: Record<string, string>;
  status: { kind: string; label: string; cves: string[] };
};
// The contract's order (worst first), not logic under test.
const KINDS: readonly string[] = DEVICE_STATUS_KINDS;
const name = (d: View) => `${d.host}/${d.service}`;
/** The former in-memory list (fleet/device-list.ts before issue 11): the reference for the SQL one. */
const COMPARE: Record<string, (a: View, b: View) => number> = {
  status: (a, b) => KINDS.indexOf(a.status.kind) - KINDS.indexOf(b.status.kind),
  name: (a, b) => name(a).localeCompare(name(b)),
  host: (a, b) => a.host.localeCompare(b.host),
  policy: (a, b) => (a.policy ?? '').localeCompare(b.policy ?? ''),
  lastSeen: (a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? ''),
};
function reference(all: View[], sort: string, q?: string): string[] {
  const key = sort.replace(/^-/, '');
  const dir = sort.startsWith('-') ? -1 : 1;
  const cmp = COMPARE[key] as (a: View, b: View) => number;
  const needle = q?.toLowerCase();
  return all
    .filter(
      (d) =>
        !needle ||
        [
          d.id,
          d.host,
          d.service,
          d.policy ?? '',
          d.status.label,
          ...Object.entries(d.labels).flat(),
          ...d.status.cves,
        ].some((h) => h.toLowerCase().includes(needle)),
    )
    .sort((a, b) => dir * cmp(a, b) || name(a).localeCompare(name(b)))
    .map(name);
}

export async function deviceStatusScenario(
  srv: HotpatchServer,
  fx: Fixture,
  sockets: WebSocket[],
): Promise<void> {
  const db = srv.db;
  const admin = client(srv.url, readToken(srv.bootstrap.adminTokenFile));
  const enrollToken = readToken(srv.bootstrap.enrollTokenFile);
  const legacyToken = (await admin.post('/v1/enroll-tokens', { name: 'legacy', labels: { team: 'legacy' } }))
    .json.token as string;
  const factsStored = (id: string, pred: (f: Record<string, unknown> | null) => boolean) =>
    until(`facts of ${id} stored`, async () => {
      const r = await db.query('SELECT facts FROM devices WHERE id = $1', [id]);
      return pred(json<Record<string, unknown> | null>(r[0]?.facts ?? null));
    });
  const sims = new Map<string, { deviceId: string; sim: Sim }>();
  const start = async (host: string, service: string, token: string, over: Record<string, unknown> = {}) => {
    const e = await enrollOk(srv.url, token, host, { service });
    const sim = await online(srv.url, e.credential, minimistFacts(fx, { service, ...over }), sockets);
    await factsStored(e.deviceId, (f) => f !== null);
    sims.set(host, { deviceId: e.deviceId, sim });
    return e.deviceId;
  };
  const fixed = [{ name: 'minimist', version: '1.2.6', files: [] }];
  const a1 = await start('st-a1', 'web', enrollToken);
  await start('st-a2', 'web', enrollToken);
  const a3 = await start('st-a3', 'api', enrollToken);
  const b1 = await start('st-b1', 'web', enrollToken, { packages: fixed });
  const c1 = await start('st-c1', 'web', enrollToken, { signatureEnforcement: false });
  await start('st-e1', 'web', legacyToken);
  const never = await enrollOk(srv.url, enrollToken, 'st-d1', { service: 'web' });
  await consistent(db, 'enrollment and first facts');

  assert.equal((await admin.post('/v1/advisories', MINIMIST_OSV)).status, 200);
  await consistent(db, 'advisory import');
  // An update that no longer affects 1.2.5, then one that does again (the record as it was counts).
  const narrowed = {
    ...MINIMIST_OSV,
    modified: '2025-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'minimist' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.2.4' }] }],
      },
    ],
  };
  assert.deepEqual((await admin.post('/v1/advisories', narrowed)).json.updated, [MINIMIST_OSV.id]);
  await consistent(db, 'advisory update (narrowed)');
  assert.deepEqual(
    (await admin.post('/v1/advisories', { ...MINIMIST_OSV, modified: '2025-06-01T00:00:00Z' })).json.updated,
    [MINIMIST_OSV.id],
  );
  await consistent(db, 'advisory update (widened again)');
  assert.equal((await admin.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  await consistent(db, 'publish');
  const pol = await admin.post('/v1/policies', {
    name: 'legacy',
    allowHotpatch: false,
    rings: [{ name: 'all', selector: { team: 'legacy' }, deferralDays: 0 }],
  });
  assert.equal(pol.status, 201, JSON.stringify(pol.json));
  await consistent(db, 'policy create');

  const dep = await admin.post('/v1/deployments', { patchId: fx.patchId, policy: 'default', expedite: true });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  const id = dep.json.deployment.id as string;
  await consistent(db, 'deployment create');
  const s1 = sims.get('st-a1')?.sim as Sim;
  const s2 = sims.get('st-a2')?.sim as Sim;
  await s1.next('deploy');
  await s2.next('deploy');
  s1.send({
    type: 'state',
    deploymentId: id,
    patchId: fx.patchId,
    state: 'failed',
    error: { code: 'E_BASELINE_MISMATCH', message: 'index.js differs' },
  });
  await waitDeployment(admin, id, (v) => v.devices.some((d) => d.deviceId === a1 && d.state === 'failed'));
  await consistent(db, 'a device reported failed');
  s2.send({ type: 'state', deploymentId: id, patchId: fx.patchId, state: 'applied' });
  s2.send({
    type: 'facts',
    facts: minimistFacts(fx, { service: 'web', patches: [{ patchId: fx.patchId, state: 'applied' }] }),
  });
  await factsStored(sims.get('st-a2')?.deviceId as string, (f) => JSON.stringify(f).includes('"applied"'));
  await consistent(db, 'a device applied the hotpatch');

  assert.equal((await admin.post('/v1/policies/default/pause')).status, 200);
  await consistent(db, 'policy pause');
  assert.equal((await admin.post('/v1/policies/default/resume')).status, 200);
  await consistent(db, 'policy resume');

  (sims.get('st-a3')?.sim as Sim).send({
    type: 'facts',
    facts: minimistFacts(fx, { service: 'api', packages: fixed }),
  });
  await factsStored(a3, (f) => JSON.stringify(f).includes('1.2.6'));
  await consistent(db, 'facts change (upgraded)');

  assert.equal((await admin.patch(`/v1/devices/${b1}`, { policy: 'legacy' })).status, 200);
  await consistent(db, 'device assigned to a policy');
  assert.equal(
    (await admin.patch(`/v1/devices/${never.deviceId}`, { labels: { team: 'legacy' } })).status,
    200,
  );
  await consistent(db, 'device labels');
  assert.equal((await admin.post(`/v1/devices/${c1}/revoke`)).status, 200);
  await consistent(db, 'revoke');

  // The list: SQL order and filters equal the former in-memory ones, over this fleet. (The revoked
  // device's channel closes after the response, which moves its lastSeen: wait for it.)
  await until('the revoked device is disconnected', async () => {
    const d = (await admin.get(`/v1/devices/${c1}`)).json.device as { connected: boolean };
    return !d.connected;
  });
  const all = (await admin.get('/v1/devices')).json.devices as View[];
  assert.ok(
    new Set(all.map((d) => d.status.kind)).size >= 4,
    `a fleet in many states: ${all.map((d) => d.status.kind)}`,
  );
  for (const sort of [
    'status',
    '-status',
    'name',
    '-name',
    'host',
    '-host',
    'policy',
    '-policy',
    'lastSeen',
    '-lastSeen',
  ])
    for (const q of [undefined, 'legacy', 'CVE-2021', 'st-a', 'WEB'])
      assert.deepEqual(
        ((await admin.get(`/v1/devices?sort=${sort}${q ? `&q=${q}` : ''}`)).json.devices as View[]).map(name),
        reference(all, sort, q),
        `sort=${sort} q=${q}`,
      );
  const page = await admin.get(
    '/v1/devices?sort=status&limit=3&offset=2&status=not-up-to-date,hotpatched,failed,not-eligible',
  );
  const kinds = new Set(['not-up-to-date', 'hotpatched', 'failed', 'not-eligible']);
  const filtered = reference(
    all.filter((d) => kinds.has(d.status.kind)),
    'status',
  );
  assert.deepEqual((page.json.devices as View[]).map(name), filtered.slice(2, 5));
  assert.equal(page.json.total, filtered.length);
  for (const k of KINDS) assert.equal(page.json.counts[k], all.filter((d) => d.status.kind === k).length, k);

  assert.equal((await admin.post(`/v1/deployments/${id}/revert`)).status, 200);
  await consistent(db, 'revert');
  assert.equal((await admin.del(`/v1/advisories/${MINIMIST_OSV.id}`)).status, 200);
  await consistent(db, 'advisory delete');
  assert.equal((await admin.del(`/v1/devices/${a1}`)).status, 200);
  await consistent(db, 'device delete');
  const summary = (await admin.get('/v1/devices/summary')).json;
  const left = (await admin.get('/v1/devices')).json.devices as Array<
    View & { revoked: boolean; connected: boolean }
  >;
  assert.equal(summary.live, left.filter((d) => !d.revoked).length);
  assert.equal(summary.connected, left.filter((d) => !d.revoked && d.connected).length);
  assert.equal(summary.counts['up-to-date'], left.filter((d) => d.status.kind === 'up-to-date').length);
}
