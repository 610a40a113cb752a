import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthWindow } from '@hotpatch/protocol';
import { decide } from './decide.js';
import { type HealthGate, healthVerdict, ringHold } from './health-gate.js';

const win = (
  s2xx: number,
  s5xx: number,
  loopP99Ms: number | null = 10,
  crashes = 0,
  ms = 600_000,
): HealthWindow => ({
  startedAt: '2026-01-01T00:00:00.000Z',
  ms,
  responses: { s1xx: 0, s2xx, s3xx: 0, s4xx: 0, s5xx },
  uncaughtExceptions: crashes,
  unhandledRejections: 0,
  loopP99Ms,
});
const gate: HealthGate = {
  windowSeconds: 600,
  max5xxDeltaPoints: 1,
  maxLoopP99Ratio: 1.5,
  maxCrashDelta: 0,
  onBreach: 'halt',
};

test('5xx rate: +1 point passes, +2 points fails and names the numbers', () => {
  assert.equal(healthVerdict(gate, win(1000, 0), win(990, 10)).verdict, 'pass');
  const v = healthVerdict(gate, win(1000, 0), win(980, 20));
  assert.equal(v.verdict, 'fail');
  assert.equal(v.breaches[0]?.signal, '5xx-rate');
  assert.equal(v.breaches[0]?.text, '5xx rate 0% -> 2% (+2 points, limit +1)');
});

test('too few requests after: the 5xx signal is not measured; no traffic before counts as no errors', () => {
  const v = healthVerdict(
    { ...gate, maxLoopP99Ratio: undefined, maxCrashDelta: undefined },
    win(0, 0),
    win(5, 5),
  );
  assert.equal(v.verdict, 'inconclusive');
  assert.equal(healthVerdict({ ...gate, minRequests: 5 }, win(0, 0), win(5, 5)).verdict, 'fail');
});

test('loop p99 ratio and crashes (before scaled to the after window)', () => {
  const slow = healthVerdict(gate, win(100, 0, 10), win(100, 0, 16));
  assert.equal(slow.breaches[0]?.signal, 'loop-p99');
  assert.match(slow.breaches[0]?.text ?? '', /10 ms -> 16 ms \(x1\.6, limit x1\.5\)/);
  assert.equal(healthVerdict(gate, win(100, 0, 10), win(100, 0, 14)).verdict, 'pass');
  // 2 crashes in 20 minutes before is 1 per 10 minutes: 1 after is no rise.
  assert.equal(healthVerdict(gate, win(100, 0, 10, 2, 1_200_000), win(100, 0, 10, 1)).verdict, 'pass');
  assert.equal(healthVerdict(gate, win(100, 0, 10, 0), win(100, 0, 10, 1)).breaches[0]?.signal, 'crashes');
});

test('ringHold: later rings wait for every watched device of earlier rings; a halt holds all', () => {
  const rings = [{ name: 'canary' }, { name: 'broad' }];
  assert.equal(ringHold(null, rings, 'broad', null, []), null, 'no gate, no hold');
  assert.equal(ringHold(gate, rings, 'canary', null, []), null, 'the first ring goes');
  const applying = [{ ring: 'canary', state: 'applying', verdict: null }];
  assert.match(
    ringHold(gate, rings, 'broad', null, applying) ?? '',
    /waiting for ring canary \(0 of 1 devices watched for 600 s\)/,
  );
  const passed = [
    { ring: 'canary', state: 'applied', verdict: 'pass' as const },
    { ring: 'canary', state: 'ineligible', verdict: null },
  ];
  assert.equal(ringHold(gate, rings, 'broad', null, passed), null);
  const failed = [...passed, { ring: 'canary', state: 'failed', verdict: null }];
  assert.match(
    ringHold(gate, rings, 'broad', null, failed) ?? '',
    /1 device\(s\) of ring canary failed to apply/,
  );
  assert.match(
    ringHold(gate, rings, 'canary', 'h/web: 5xx rate', passed) ?? '',
    /^halted by the health gate: h\/web: 5xx rate/,
  );
});

test('decide: a held ring stays scheduled with the reason; a device already sent is not recalled', () => {
  const base = {
    deployment: {
      state: 'active' as const,
      expedite: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      patchId: 'p',
    },
    policy: { paused: false },
    ring: { name: 'broad', selector: {}, deferralDays: 0 },
    eligibility: { status: 'eligible' as const },
    row: null,
    instanceId: 1,
    devicePatch: null,
    alreadySent: false,
    now: new Date('2026-01-02T00:00:00.000Z'),
  };
  const held = decide({ ...base, hold: 'health gate: waiting for ring canary' });
  assert.equal(held.state, 'scheduled');
  assert.equal(held.send, null);
  assert.equal(held.reason, 'health gate: waiting for ring canary');
  assert.equal(decide({ ...base, hold: null }).send, 'deploy');
});
