import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DeviceFacts, deviceReasons, type HotpatchTarget, hotpatchEligibility } from './eligibility.js';

const target: HotpatchTarget = {
  name: 'minimist',
  baseline: '1.2.5',
  files: [{ path: 'index.js', baselineSha256: 'a'.repeat(64) }],
  fixedIn: '1.2.6',
};
const facts = (over: Partial<DeviceFacts> = {}): DeviceFacts => ({
  node: 'v22.1.0',
  engine: 'liveedit',
  signatureEnforcement: true,
  packages: [{ name: 'minimist', version: '1.2.5', files: [{ path: 'index.js', sha256: 'a'.repeat(64) }] }],
  ...over,
});
const allow = { name: 'p', allowHotpatch: true };

test('eligible device', () => {
  assert.deepEqual(hotpatchEligibility(facts(), allow, target), { status: 'eligible' });
});

test('not applicable when the target is not loaded or already fixed', () => {
  assert.equal(hotpatchEligibility(facts({ packages: [] }), allow, target).status, 'not-applicable');
  const r = hotpatchEligibility(
    facts({ packages: [{ name: 'minimist', version: '1.2.6', files: [] }] }),
    allow,
    target,
  );
  assert.equal(r.status, 'not-applicable');
});

test('every reason is named, with an action', () => {
  const r = hotpatchEligibility(
    facts({
      node: 'v18.20.0',
      signatureEnforcement: false,
      packages: [{ name: 'minimist', version: '1.2.4', files: [] }],
    }),
    { name: 'strict', allowHotpatch: false },
    target,
  );
  assert.equal(r.status, 'ineligible');
  if (r.status !== 'ineligible') return;
  assert.deepEqual(
    r.reasons.map((x) => x.code),
    ['NODE_UNSUPPORTED', 'SIGNATURE_ENFORCEMENT_OFF', 'POLICY_DISALLOWS_HOTPATCH', 'NOT_ON_BASELINE'],
  );
  assert.match(r.action, /minimist@1\.2\.6 \(restart\)/);
});

test('modified baseline code and missing runtime', () => {
  const r = hotpatchEligibility(
    facts({
      packages: [
        { name: 'minimist', version: '1.2.5', files: [{ path: 'index.js', sha256: 'b'.repeat(64) }] },
      ],
    }),
    allow,
    target,
  );
  assert.equal(r.status === 'ineligible' && r.reasons[0]?.code, 'BASELINE_CODE_MISMATCH');
  assert.deepEqual(
    deviceReasons(null, allow).map((x) => x.code),
    ['RUNTIME_NOT_LOADED'],
  );
  assert.deepEqual(
    deviceReasons(facts({ node: 'v26.0.0' }), null).map((x) => x.code),
    ['POLICY_DISALLOWS_HOTPATCH'],
  );
  const none = hotpatchEligibility(null, allow, target);
  assert.equal(none.status === 'ineligible' && none.reasons[0]?.code, 'RUNTIME_NOT_LOADED');
});

test('a runtime that does not trust the signing key is ineligible before any deploy', () => {
  const signed = { ...target, keyId: 'k1' };
  assert.deepEqual(hotpatchEligibility(facts({ trustedKeys: ['k1', 'k2'] }), allow, signed), {
    status: 'eligible',
  });
  const r = hotpatchEligibility(facts({ trustedKeys: ['k2'] }), allow, signed);
  assert.equal(r.status, 'ineligible');
  assert.deepEqual(r.status === 'ineligible' ? r.reasons.map((x) => x.code) : [], ['KEY_NOT_TRUSTED']);
  // Older runtimes do not report their keys: not checked (the deploy itself still verifies).
  assert.equal(hotpatchEligibility(facts(), allow, signed).status, 'eligible');
});
