import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyOf } from '../test/models.js';
import { evaluate, supersedingPatch } from './evaluate.js';
import type { BundleMeta, Deployment, StoredFacts } from './model.js';

const bundle = (patchId: string, level: number, over: Partial<BundleMeta> = {}): BundleMeta => ({
  patchId,
  version: `1.2.5+hp.${level}`,
  level,
  title: 't',
  severity: 'high',
  advisories: ['CVE-1'],
  targetName: 'minimist',
  targetBaseline: '1.2.5',
  fixedIn: '1.2.6',
  files: [{ path: 'index.js', baselineSha256: 'aa' }],
  keyId: 'k',
  sha256: 's',
  publishedAt: '2025-01-01T00:00:00Z',
  publishedBy: 'op',
  advisoryPublishedAt: null,
  ...over,
});
const facts = (patches: Array<{ patchId: string; state: string }>): StoredFacts => ({
  pid: 1,
  service: 'svc',
  node: 'v22.1.0',
  engine: 'liveedit',
  signatureEnforcement: true,
  startedAt: '2025-01-01T00:00:00.000Z',
  patches,
  packages: [{ name: 'minimist', version: '1.2.5', files: [{ path: 'index.js', sha256: 'aa' }] }],
});
const policy = policyOf();
const dep: Deployment = {
  id: 'dep1',
  patchId: 'hp-1',
  policyId: 'pol',
  state: 'active',
  expedite: false,
  createdAt: '2025-01-01T00:00:00Z',
  createdBy: 'op',
  revertedAt: null,
  revertReason: null,
};
const bundles = new Map([
  ['hp-1', bundle('hp-1', 1)],
  ['hp-2', bundle('hp-2', 2)],
  ['other', bundle('other', 5, { targetName: 'express' })],
]);
const input = (f: StoredFacts) => ({
  deployment: dep,
  device: { labels: {}, policyId: null },
  policies: [policy],
  bundle: bundles.get('hp-1') as BundleMeta,
  bundleOf: (id: string) => bundles.get(id),
  facts: f,
  row: null,
  instanceId: 3,
  alreadySent: false,
  now: new Date('2025-02-01T00:00:00Z'),
});

test('a device running a newer cumulative hotpatch of the same target settles as superseded, not failed', () => {
  const b1 = bundles.get('hp-1') as BundleMeta;
  assert.equal(
    supersedingPatch(b1, facts([{ patchId: 'hp-2', state: 'applied' }]), (id) => bundles.get(id)),
    'hp-2',
  );
  assert.equal(
    supersedingPatch(b1, facts([{ patchId: 'other', state: 'applied' }]), (id) => bundles.get(id)),
    null,
  );
  assert.equal(
    supersedingPatch(b1, facts([{ patchId: 'hp-2', state: 'pending' }]), (id) => bundles.get(id)),
    null,
  );
  const ev = evaluate(input(facts([{ patchId: 'hp-2', state: 'applied' }])));
  assert.equal(ev?.decision.state, 'superseded');
  assert.equal(ev?.decision.send, null);
  assert.match(ev?.decision.reason ?? '', /hp-2/);
  assert.equal(evaluate(input(facts([])))?.decision.send, 'deploy');
});

test('a deployment of another policy does not concern the device', () => {
  assert.equal(evaluate({ ...input(facts([])), deployment: { ...dep, policyId: 'elsewhere' } }), null);
});
