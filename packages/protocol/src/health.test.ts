import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAgentMessage, checkServerMessage } from './agent.js';
import type { HealthWindow } from './health.js';

const win: HealthWindow = {
  startedAt: '2026-01-01T00:00:00.000Z',
  ms: 600_000,
  responses: { s1xx: 0, s2xx: 1000, s3xx: 0, s4xx: 3, s5xx: 1 },
  uncaughtExceptions: 0,
  unhandledRejections: 0,
  loopP99Ms: 11.2,
};
const health = (before: unknown, after: unknown = win) =>
  JSON.stringify({ type: 'health', deploymentId: 'dep_1', patchId: 'HP-1', before, after });

test('a health report passes; every count, duration and the loop p99 are bounded', () => {
  assert.equal(checkAgentMessage(health(win)).ok, true);
  assert.equal(checkAgentMessage(health({ ...win, loopP99Ms: null })).ok, true);
  const bad: Array<[string, string]> = [
    [health({ ...win, responses: { ...win.responses, s5xx: -1 } }), '/before/responses/s5xx'],
    [health({ ...win, responses: { ...win.responses, s2xx: 2 ** 31 } }), '/before/responses/s2xx'],
    [health({ ...win, ms: 86_400_001 }), '/before/ms'],
    [health({ ...win, loopP99Ms: 1e12 }), '/before/loopP99Ms'],
    [health({ ...win, startedAt: 'now' }), '/before/startedAt'],
    [health(win, { ...win, uncaughtExceptions: 1.5 }), '/after/uncaughtExceptions'],
  ];
  for (const [text, path] of bad) {
    const r = checkAgentMessage(text);
    assert.equal(r.ok, false, path);
    if (!r.ok) assert.ok(r.error.startsWith(path), `${r.error} names ${path}`);
  }
});

test('a deploy may ask for a health window between 1 s and a day', () => {
  const deploy = (health?: unknown) =>
    JSON.stringify({
      type: 'deploy',
      deploymentId: 'd',
      patchId: 'p',
      bundle: 'AA==',
      ...(health ? { health } : {}),
    });
  assert.equal(checkServerMessage(deploy()).ok, true);
  assert.equal(checkServerMessage(deploy({ windowMs: 600_000 })).ok, true);
  assert.equal(checkServerMessage(deploy({ windowMs: 10 })).ok, false);
  assert.equal(checkServerMessage(deploy({ windowMs: 86_400_001 })).ok, false);
});
