import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundlePayload,
  generateSigningKey,
  KEY_SCHEME,
  loadPrivateKey,
  loadPublicKey,
  sha256,
  signBundle,
  TrustStore,
} from '@hotpatch/core';
import { analyzeModule, CONVENTION_VERSION, checkReplacement, moduleTable } from '@hotpatch/instrument';
import { heavyLoaded } from './lazy.js';
import { checkedBundle, checkedReplacements } from './off-thread.js';

const baseline = 'function f(a) { return a + 1; }\nmodule.exports = f;\n';

function payload(): BundlePayload {
  const fixed = 'function f(a) { return a + 2; }';
  const patched = fixed + baseline.slice(baseline.indexOf('\n'));
  return {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    keyScheme: KEY_SCHEME,
    convention: CONVENTION_VERSION,
    patchId: 'HP-20250101-abcdef',
    version: '1.0.0-hotpatch.1',
    level: 1,
    title: 'demo 1.0.0 → 1.0.1',
    advisories: ['CVE-2099-0001'],
    severity: 'high',
    classification: 'security',
    createdAt: '2025-01-01T00:00:00.000Z',
    builder: 'test',
    target: { kind: 'npm', name: 'demo', version: '1.0.0' },
    fixedIn: '1.0.1',
    supersedes: [],
    files: [
      {
        path: 'index.js',
        sourceType: 'commonjs',
        baselineSha256: sha256(baseline),
        patchedSha256: sha256(patched),
        edits: [{ start: 0, end: baseline.indexOf('\n'), text: fixed }],
        liveEdit: null,
        functions: [{ key: 'f', call: 'params', params: ['a'], source: '(function (a) { return a + 2; })' }],
        migrations: [],
        changes: [
          {
            id: 'function-changed',
            kind: 'function-body',
            name: 'f',
            verdict: 'live',
            reason: 'changed',
            line: 1,
          },
        ],
      },
    ],
    newFiles: [],
    ignored: [],
  };
}

const keys = generateSigningKey();
const trust = new TrustStore([loadPublicKey(keys.publicKeyPem)]);
const signed = () => signBundle(payload(), loadPrivateKey(keys.privateKeyPem));
const bytes = (b: unknown) => Buffer.from(JSON.stringify(b));

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
