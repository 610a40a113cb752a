import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { checkAgentMessage, EnrollRequest, type Facts, LIMITS } from './agent.js';

const facts: Facts = {
  pid: 42,
  service: 'api',
  node: 'v22.1.0',
  engine: 'liveedit',
  signatureEnforcement: true,
  startedAt: new Date().toISOString(),
  patches: [],
  packages: [{ name: 'minimist', version: '1.2.5', files: [{ path: 'index.js', sha256: 'ab'.repeat(32) }] }],
};
const hello = (f: unknown) => JSON.stringify({ type: 'hello', protocol: 1, facts: f });

test('a well-formed hello passes; unknown fields are allowed (newer agents)', () => {
  assert.equal(checkAgentMessage(hello(facts)).ok, true);
  assert.equal(checkAgentMessage(hello({ ...facts, futureField: 1 })).ok, true);
});

test('NUL characters, pids past int32, bad timestamps, oversized arrays and counts are refused with a path', () => {
  const bad: Array<[string, string]> = [
    [hello({ ...facts, node: 'v22\u0000' }), '/facts/node'],
    [hello({ ...facts, pid: 2 ** 31 }), '/facts/pid'],
    [hello({ ...facts, startedAt: 'yesterday' }), '/facts/startedAt'],
    [
      hello({
        ...facts,
        patches: Array.from({ length: LIMITS.patches + 1 }, () => ({ patchId: 'p', state: 'applied' })),
      }),
      '/facts/patches',
    ],
    [JSON.stringify({ type: 'errors', patchId: 'p', count: 10 ** 9 }), '/count'],
    [
      JSON.stringify({ type: 'state', deploymentId: 'd', patchId: 'p', state: 'failed', reason: 'a\u0000' }),
      '/reason',
    ],
    [JSON.stringify({ type: 'state', deploymentId: 'd', patchId: 'p', state: 'superseded' }), '/state'],
    [JSON.stringify({ type: 'hack' }), '/type'],
  ];
  for (const [text, path] of bad) {
    const r = checkAgentMessage(text);
    assert.equal(r.ok, false, text.slice(0, 80));
    if (!r.ok) assert.ok(r.error.startsWith(`${path}`), `${r.error} (want ${path})`);
  }
  assert.deepEqual(checkAgentMessage('{'), { ok: false, error: 'not JSON' });
});

test('enrollment: label count and size are bounded, types are not coerced', () => {
  assert.equal(Value.Check(EnrollRequest, { host: 'h', service: 's', labels: { ring: 'canary' } }), true);
  const many = Object.fromEntries(Array.from({ length: LIMITS.labels + 1 }, (_, i) => [`k${i}`, 'v']));
  assert.equal(Value.Check(EnrollRequest, { host: 'h', service: 's', labels: many }), false);
  assert.equal(Value.Check(EnrollRequest, { host: 123, service: 's' }), false);
  assert.equal(Value.Check(EnrollRequest, { host: 'h\u0000', service: 's' }), false);
});
