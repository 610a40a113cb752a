import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceStatus, type Finding, type StatusInput } from './device-status.js';

const base: StatusInput = {
  revoked: false,
  reasons: [],
  policyPaused: false,
  findings: [],
  hotpatched: [],
  deployments: [],
};
const cve = (over: Partial<Finding> = {}): Finding => ({
  ids: ['CVE-2021-44906', 'GHSA-xvch-5gv4-984h'],
  name: 'minimist',
  version: '1.2.5',
  fixedIn: '1.2.6',
  hotpatch: { patchId: 'minimist-1.2.5-hp1', eligible: true, why: '' },
  ...over,
});
const policyOff = {
  code: 'POLICY_DISALLOWS_HOTPATCH',
  message: 'policy strict does not allow hotpatch (apply without restart)',
};

test('device status: one label per situation, worst first', () => {
  const table: Array<[string, Partial<StatusInput>, string, string]> = [
    ['nothing known', {}, 'up-to-date', 'Up to date'],
    [
      'vulnerable, hotpatch deployable',
      { findings: [cve()] },
      'not-up-to-date',
      'Not up to date: CVE-2021-44906 — hotpatch available',
    ],
    [
      'vulnerable, no hotpatch yet',
      { findings: [cve({ hotpatch: null })] },
      'not-up-to-date',
      'Not up to date: CVE-2021-44906 — baseline needed',
    ],
    [
      'vulnerable, hotpatch exists but the device cannot take it',
      {
        findings: [cve({ hotpatch: { patchId: 'p', eligible: false, why: 'key not trusted' } })],
        reasons: [policyOff],
      },
      'not-up-to-date',
      'Not up to date: CVE-2021-44906 — baseline needed',
    ],
    [
      'hotpatched',
      { hotpatched: [{ name: 'minimist', version: '1.2.5+hp.1' }] },
      'hotpatched',
      'Hotpatched minimist 1.2.5+hp.1',
    ],
    [
      'in progress',
      { findings: [cve()], deployments: [{ patchId: 'p', state: 'applying', reason: null }] },
      'in-progress',
      'In progress: p applying',
    ],
    [
      'failed, in words',
      {
        findings: [cve()],
        deployments: [{ patchId: 'p', state: 'failed', reason: 'E_UNTRUSTED_KEY: key abc' }],
      },
      'failed',
      "Failed: the runtime does not trust the publisher's key (key abc)",
    ],
    [
      'not eligible, in words',
      { reasons: [policyOff] },
      'not-eligible',
      'Not eligible: policy strict does not allow hotpatch (apply without restart)',
    ],
    [
      'paused with a pending vulnerability',
      { policyPaused: true, findings: [cve()] },
      'paused',
      'Paused: CVE-2021-44906 waiting',
    ],
    ['paused policy, nothing to do', { policyPaused: true }, 'up-to-date', 'Up to date'],
    ['revoked', { revoked: true, findings: [cve()] }, 'not-eligible', 'Not eligible: enrollment revoked'],
  ];
  for (const [what, over, kind, label] of table) {
    const s = deviceStatus({ ...base, ...over });
    assert.equal(s.kind, kind, what);
    assert.equal(s.label, label, what);
  }
});

test('device status: the action names the hotpatch or the fixed release; many CVEs are capped', () => {
  const s = deviceStatus({ ...base, findings: [cve({ hotpatch: null })] });
  assert.equal(s.action, 'deploy minimist@1.2.6 with a restart (no hotpatch yet)');
  assert.deepEqual(s.cves, ['CVE-2021-44906']);
  const many = deviceStatus({
    ...base,
    findings: ['CVE-1', 'CVE-2', 'CVE-3', 'CVE-4', 'CVE-5'].map((id) => cve({ ids: [id], hotpatch: null })),
  });
  assert.equal(many.label, 'Not up to date: CVE-1, CVE-2, CVE-3 +2 more — baseline needed');
});
