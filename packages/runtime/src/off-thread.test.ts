import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateSigningKey,
  KEY_SCHEME,
  loadPrivateKey,
  loadPublicKey,
  signBundle,
  TrustStore,
} from '@hotpatch/core';
import { SAMPLE_BASELINE as baseline, samplePayload } from '@hotpatch/core/testing';
import { analyzeModule, CONVENTION_VERSION, checkReplacement, moduleTable } from '@hotpatch/instrument';
import { heavyLoaded } from './lazy.js';
import { checkedBundle, checkedReplacements } from './off-thread.js';

// The runtime's own calling convention: a bundle built for it.
const payload = () => samplePayload({ convention: CONVENTION_VERSION });

const keys = generateSigningKey();
const trust = new TrustStore([loadPublicKey(keys.publicKeyPem)]);
const signed = () => signBundle(payload(), loadPrivateKey(keys.privateKeyPem));
const bytes = (b: unknown) => Buffer.from(JSON.stringify(b));

// core's sample payload names the convention by number (core cannot import instrument): it must be this one,
// or every test that publishes or applies the sample tests a bundle of another convention.
it('the sample payload is built for the calling convention the runtime implements', () => {
  assert.equal(samplePayload().convention, CONVENTION_VERSION);
});

// Each check below would load the parser here if it ran in this thread (heavyLoaded).
describe("an apply's pure checks, in the checker thread", () => {
  it('a signed bundle: parsed, validated, its label; errors keep their codes', async () => {
    const bundle = signed();
    const got = await checkedBundle(bytes(bundle), trust);
    assert.deepEqual(got.bundle, bundle);
    assert.equal(got.label, 'demo@1.0.0');

    const tampered = { ...bundle, payload: { ...bundle.payload, title: 'changed after signing' } };
    await assert.rejects(checkedBundle(bytes(tampered), trust), { code: 'E_SIGNATURE_INVALID' });
    await assert.rejects(checkedBundle(bytes(bundle), new TrustStore()), { code: 'E_UNTRUSTED_KEY' });
    await assert.rejects(checkedBundle(Buffer.from('{"payload": 1'), trust), { code: 'E_BUNDLE_CORRUPT' });
    const other = signBundle({ ...payload(), keyScheme: KEY_SCHEME + 1 }, loadPrivateKey(keys.privateKeyPem));
    await assert.rejects(checkedBundle(bytes(other), trust), { code: 'E_ENGINE' });
    assert.equal(heavyLoaded(), false);
  });

  it('replacements: the same answers as the check in this thread, against this thread’s globals', async () => {
    const table = moduleTable(analyzeModule(baseline, { sourceType: 'commonjs' }));
    // A global only this thread has: the checker must see the service's globals, not its own.
    (globalThis as Record<string, unknown>).__offThreadTestGlobal = 1;
    const fp = (source: string) => ({ key: 'f', call: 'params' as const, params: ['a'], source });
    const items = [
      fp('(function (a) { return Math.max(a, 2); })'),
      fp('(function (a) { return __offThreadTestGlobal + a; })'),
      fp('(function (a) { return notDefinedAnywhere + a; })'),
      fp('(function (a) { return a +; })'),
      { ...fp('(function (a) { return a; })'), key: 'g' },
    ].map((f) => ({ table, fp: f }));
    const got = await checkedReplacements(items);
    const here = items.map(({ fp }) => checkReplacement(table, fp, (n) => n in globalThis));
    assert.deepEqual(got, here);
    assert.deepEqual(
      got.map((x) => x === null),
      [true, true, false, false, false],
    );
    assert.equal(heavyLoaded(), false);
  });
});
