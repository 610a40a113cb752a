import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyOf } from '../test/models.js';
import { type DecideInput, decide } from './decide.js';
import type { Policy } from './model.js';
import { placeDevice } from './placement.js';

const now = new Date('2025-02-12T12:00:00Z');
const base: DecideInput = {
  deployment: { state: 'active', expedite: false, createdAt: '2025-02-11T12:00:00Z', patchId: 'p1' },
  policy: { paused: false },
  ring: { name: 'broad', selector: {}, deferralDays: 3 },
  eligibility: { status: 'eligible' },
  row: null,
  instanceId: 7,
  devicePatch: null,
  alreadySent: false,
  now,
};

test('ring deferral schedules; expedite and due rings deploy once per connection', () => {
  const d = decide(base);
  assert.equal(d.state, 'scheduled');
  assert.equal(d.scheduledFor, '2025-02-14T12:00:00.000Z');
  assert.equal(d.send, null);
  const e = decide({ ...base, deployment: { ...base.deployment, expedite: true } });
  assert.equal(e.send, 'deploy');
  assert.equal(e.state, 'applying');
  assert.equal(
    decide({
      ...base,
      deployment: { ...base.deployment, expedite: true },
      alreadySent: true,
      row: { state: 'applying', instanceId: 7, reason: null },
    }).send,
    null,
  );
  assert.equal(decide({ ...base, now: new Date('2025-02-15T00:00:00Z') }).send, 'deploy');
});

test('pause holds, ineligible and not-applicable say why, failures stay until a new instance', () => {
  assert.equal(decide({ ...base, ring: null, policy: { paused: true } }).reason, 'policy paused');
  const inel = decide({
    ...base,
    eligibility: {
      status: 'ineligible',
      reasons: [{ code: 'NODE_UNSUPPORTED', message: 'old' }],
      action: 'deploy x (restart)',
    },
  });
  assert.equal(inel.state, 'ineligible');
  assert.equal(inel.action, 'deploy x (restart)');
  const withDeadline = decide({
    ...base,
    policy: { paused: false, deadlineDays: 7 },
    eligibility: {
      status: 'ineligible',
      reasons: [{ code: 'NODE_UNSUPPORTED', message: 'old' }],
      action: 'deploy x (restart)',
    },
  });
  assert.equal(withDeadline.action, 'deploy x (restart) by 2025-02-21 (policy deadline)');
  assert.equal(
    decide({ ...base, eligibility: { status: 'not-applicable', reason: 'x not loaded' } }).state,
    'not-applicable',
  );
  const failed = { state: 'failed' as const, instanceId: 7, reason: 'E_VERIFY' };
  assert.equal(decide({ ...base, ring: null, row: failed }).send, null);
  assert.equal(decide({ ...base, ring: null, row: failed, instanceId: 8 }).send, 'deploy');
  assert.equal(decide({ ...base, devicePatch: 'applied' }).state, 'applied');
});

test('revert: devices holding the patch are told to revert; others settle', () => {
  const dep = { ...base.deployment, state: 'reverted' as const };
  assert.equal(
    decide({
      ...base,
      deployment: dep,
      devicePatch: 'applied',
      row: { state: 'applied', instanceId: 7, reason: null },
    }).send,
    'revert',
  );
  assert.equal(
    decide({
      ...base,
      deployment: dep,
      devicePatch: null,
      row: { state: 'applied', instanceId: 7, reason: null },
    }).state,
    'reverted',
  );
  assert.equal(
    decide({
      ...base,
      deployment: dep,
      devicePatch: null,
      row: { state: 'ineligible', instanceId: 7, reason: 'x' },
    }).state,
    'ineligible',
  );
});

test('placement: assigned policy, then ring selectors, then the default', () => {
  const pol = (id: string, position: number, rings: Policy['rings'], isDefault = false): Policy =>
    policyOf({ id, name: id, rings, isDefault, position });
  const policies = [
    pol('default', 1, [{ name: 'all', selector: {}, deferralDays: 0 }], true),
    pol('prod', 2, [
      { name: 'canary', selector: { ring: 'canary' }, deferralDays: 0 },
      { name: 'broad', selector: { env: 'prod' }, deferralDays: 2 },
    ]),
  ];
  assert.equal(placeDevice({ labels: { env: 'prod' }, policyId: null }, policies)?.ring?.name, 'broad');
  assert.equal(
    placeDevice({ labels: { ring: 'canary', env: 'prod' }, policyId: null }, policies)?.ring?.name,
    'canary',
  );
  assert.equal(placeDevice({ labels: {}, policyId: null }, policies)?.policy.name, 'default');
  const forced = placeDevice({ labels: {}, policyId: 'prod' }, policies);
  assert.equal(forced?.policy.name, 'prod');
  assert.equal(forced?.ring?.name, 'broad', 'no ring matches: the last ring');
});
