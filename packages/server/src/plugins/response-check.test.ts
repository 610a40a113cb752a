import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeletedResponse, PolicyResponse } from '@hotpatch/protocol';
import Fastify from 'fastify';
import { installErrorHandler } from './errors.js';
import { closed, installResponseCheck } from './response-check.js';

/** A real Fastify app whose handlers answer what the test says, against the protocol's schemas. */
async function app(check: boolean, reply: unknown) {
  const a = Fastify();
  installErrorHandler(a);
  if (check) installResponseCheck(a);
  a.get('/deleted', { schema: { response: { 200: DeletedResponse } } }, async () => reply);
  a.get('/policy', { schema: { response: { 200: PolicyResponse } } }, async () => reply);
  await a.ready();
  return a;
}

const policy = {
  name: 'default',
  allowHotpatch: true,
  rings: [{ name: 'all', selector: {}, deferralDays: 0 }],
  deadlineDays: 7,
  paused: false,
  rollback: {},
  health: null,
  isDefault: true,
  createdAt: new Date(0),
  updatedAt: '1970-01-01T00:00:00.000Z',
};

test('a reply that matches its schema goes out (dates as ISO text)', async () => {
  const a = await app(true, { policy });
  const r = await a.inject('/policy');
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().policy.createdAt, '1970-01-01T00:00:00.000Z');
  await a.close();
});

test('a reply of the wrong type is a 500 naming the route and field', async () => {
  const a = await app(true, { policy: { ...policy, paused: 'no' } });
  const r = await a.inject('/policy');
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().error.code, 'E_INTERNAL');
  assert.match(r.json().error.message, /GET \/policy \(200\) does not match its schema: \/policy\/paused/);
  await a.close();
});

test('a field the schema does not declare is a 500 when checked (the serialiser would drop it)', async () => {
  const a = await app(true, { deleted: 'x', secret: 'token-hash' });
  const r = await a.inject('/deleted');
  assert.equal(r.statusCode, 500);
  assert.match(r.json().error.message, /must NOT have additional properties \(secret\)/);
  await a.close();
  // Unchecked, Fastify's serialiser keeps only what the schema declares.
  const b = await app(false, { deleted: 'x', secret: 'token-hash' });
  assert.deepEqual((await b.inject('/deleted')).json(), { deleted: 'x' });
  await b.close();
});

test('a missing required field fails even unchecked (Fastify serialises by the schema)', async () => {
  const a = await app(false, { policy: { ...policy, name: undefined } });
  assert.equal((await a.inject('/policy')).statusCode, 500);
  await a.close();
});

type Node = {
  additionalProperties?: boolean;
  properties?: Record<string, Node>;
  patternProperties?: Record<string, Node>;
};

test('closed: objects with properties allow no others unless they say so; field names are not keywords', () => {
  const s = closed({
    type: 'object',
    properties: { properties: { type: 'object', properties: { a: { type: 'string' } } } },
    patternProperties: { '^x': { type: 'object', additionalProperties: true, properties: {} } },
  }) as Node;
  assert.equal(s.additionalProperties, false);
  assert.equal(s.properties?.properties?.additionalProperties, false);
  assert.equal(s.properties?.properties?.properties?.a?.additionalProperties, undefined);
  assert.equal(s.patternProperties?.['^x']?.additionalProperties, true);
});
