import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BundleMeta, Deployment, DeploymentDevice, Device } from './fleet/model.js';
import { exposureReport, hotpatchReport, percentile, restartsReport } from './reports.js';
import { policyOf } from './test/models.js';

const policy = policyOf({ id: 'p' });
const facts = {
  pid: 1,
  service: 's',
  startedAt: '',
  node: 'v22.0.0',
  engine: 'liveedit',
  signatureEnforcement: true,
  patches: [],
  packages: [],
};
const dev = (id: string, withFacts = true): Device => ({
  id,
  host: id,
  service: 's',
  labels: {},
  policyId: null,
  enrolledAt: '',
  revokedAt: null,
  lastSeen: null,
  connected: true,
  facts: withFacts ? facts : null,
});
const dep: Deployment = {
  id: 'd',
  patchId: 'hp1',
  policyId: 'p',
  state: 'active',
  expedite: false,
  createdAt: '2025-01-01T00:00:00Z',
  createdBy: 'x',
  revertedAt: null,
  revertReason: null,
};
const row = (
  deviceId: string,
  state: DeploymentDevice['state'],
  appliedAt: string | null = null,
): DeploymentDevice => ({
  deploymentId: 'd',
  deviceId,
  state,
  ring: 'all',
  reason: null,
  action: null,
  scheduledFor: null,
  instanceId: 1,
  errors: 0,
  appliedAt,
  updatedAt: '',
});

test('Autopatch columns', () => {
  const devices = [dev('a'), dev('b'), dev('c'), dev('d'), dev('e', false), dev('f')];
  const rows = [
    row('a', 'applied', '2025-01-01T01:00:00Z'),
    row('b', 'applying'),
    row('c', 'ineligible'),
    row('d', 'not-applicable'),
  ];
  const [r] = hotpatchReport(devices, [policy], rows, [dep]);
  assert.deepEqual(r, {
    policy: 'prod',
    devices: 6,
    upToDate: 2,
    hotpatched: 1,
    notUpToDate: 1,
    inProgress: 1,
    notReady: 1,
    paused: 0,
  });
  const [p] = hotpatchReport(
    [dev('x')],
    [{ ...policy, paused: true }],
    [{ ...row('x', 'scheduled') }],
    [dep],
  );
  assert.equal(p?.paused, 1);
});

test('exposure windows p50/p95 from advisory publication', () => {
  const bundle = {
    patchId: 'hp1',
    advisories: ['CVE-1'],
    publishedAt: '2025-01-01T00:00:00Z',
    advisoryPublishedAt: '2024-12-31T00:00:00Z',
  } as BundleMeta;
  const rows = [
    row('a', 'applied', '2025-01-01T01:00:00Z'),
    row('b', 'applied', '2025-01-01T02:00:00Z'),
    row('c', 'scheduled'),
  ];
  const [e] = exposureReport([bundle], rows, [dep], new Date('2025-01-02T00:00:00Z'));
  assert.equal(e?.hoursToHotpatch, 24);
  assert.equal(e?.devicesApplied, 2);
  assert.equal(e?.devicesStillExposed, 1);
  assert.deepEqual(e?.exposureHours, { p50: 25, p95: 26, max: 26 });
  assert.equal(percentile([], 50), null);
});

test('restarts per device from instance starts against 12 monthly restarts', () => {
  const now = new Date('2025-07-01T00:00:00Z');
  const starts = ['2025-01-01', '2025-04-01', '2025-06-01'].map((d) => ({
    deviceId: 'a',
    startedAt: `${d}T00:00:00Z`,
  }));
  const [r] = restartsReport([dev('a')], starts, new Map([['a', 3]]), 4, now);
  assert.equal(r?.instanceStarts, 3);
  assert.equal(r?.restartsLastYear, 2);
  assert.equal(r?.restartsPerYear, 4);
  assert.equal(r?.hotpatchesAppliedWithoutRestart, 3);
});
