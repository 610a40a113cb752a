/**
 * The catalog refuses a malformed bundle with 400 even when its signature is valid: it parses
 * with @hotpatch/core, which checks the bundle's structure before anything is stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type BundlePayload,
  generateSigningKey,
  loadPrivateKey,
  serializeBundle,
  signBundle,
} from '@hotpatch/core';
import { samplePayload } from '@hotpatch/core/testing';
import type { HotpatchServer } from '../index.js';
import type { client } from './fixture.js';
import { startTestServer } from './test-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-publish-checks-'));
const key = generateSigningKey();
let srv: HotpatchServer;
let admin: ReturnType<typeof client>;

before(async () => {
  const pub = join(dataDir, 'publisher.pub');
  writeFileSync(pub, key.publicKeyPem);
  ({ srv, admin } = await startTestServer({ dataDir: join(dataDir, 'data'), trustedKeys: [pub] }));
});

after(async () => {
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const payload = (patchId: string) =>
  samplePayload({ patchId, target: { kind: 'npm', name: 'demo-publish', version: '1.0.0' } });

const signed = (p: BundlePayload) => serializeBundle(signBundle(p, loadPrivateKey(key.privateKeyPem)));

test('publishing a signed bundle with two entries for one file answers 400 and stores nothing', async () => {
  const p = payload('HP-dup-paths-1');
  p.files.push(structuredClone(p.files[0]!));
  const r = await admin.postRaw('/v1/bundles', signed(p));
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'E_BUNDLE_CORRUPT');
  assert.match(r.json.error.message, /a second entry for the same file/);
  assert.equal((await admin.get('/v1/bundles/HP-dup-paths-1')).status, 404);
  // The same bundle, well formed, is accepted.
  const ok = await admin.postRaw('/v1/bundles', signed(payload('HP-dup-paths-2')));
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
});

test('publishing a bundle built for another calling convention answers 422 and stores nothing', async () => {
  const p = payload('HP-convention-1');
  p.convention += 1; // what a newer or older builder would write, signed by a trusted key
  const r = await admin.postRaw('/v1/bundles', signed(p));
  assert.equal(r.status, 422, JSON.stringify(r.json));
  assert.equal(r.json.error.code, 'E_BUNDLE_UNSUPPORTED');
  assert.ok(r.json.error.message.includes(`calling convention ${p.convention};`), r.json.error.message);
  assert.equal((await admin.get('/v1/bundles/HP-convention-1')).status, 404);
});
