import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  applyEdits,
  BUNDLE_FORMAT_VERSION,
  type BundlePayload,
  parseBundle,
  serializeBundle,
  signBundle,
  verifyBundle,
} from './bundle.js';
import { canonicalBytes } from './canonical.js';
import { BundleError, HotpatchError } from './errors.js';
import { sha256 } from './hash.js';
import { generateSigningKey, keyIdOf, loadPrivateKey, loadPublicKey, TrustStore } from './signing.js';
import {
  SAMPLE_BASELINE as baseline,
  SAMPLE_FIX as fixedBody,
  SAMPLE_PATCHED as patched,
  samplePayload,
} from './testing.js';
import { hotpatchVersion, parseHotpatchVersion } from './version-id.js';

const keys = generateSigningKey();
const privateKey = loadPrivateKey(keys.privateKeyPem);
const trust = new TrustStore([loadPublicKey(keys.publicKeyPem)]);

function signedText(): string {
  return serializeBundle(signBundle(samplePayload(), privateKey));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HotpatchError, `expected a HotpatchError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

/** Re-serializes JSON with every object's keys reversed and different whitespace. */
function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([k, v]) => [k, reorder(v)]),
    );
  }
  return value;
}

describe('bundle format v1', () => {
  it('round-trips: sign → serialize → parse → verify', () => {
    const text = signedText();
    const bundle = parseBundle(text);
    assert.deepEqual(bundle.payload, samplePayload());
    assert.equal(bundle.signature?.alg, 'Ed25519');
    assert.equal(bundle.signature?.keyId, keys.keyId);
    verifyBundle(bundle, trust);
    // Bytes are accepted as well as text.
    verifyBundle(parseBundle(Buffer.from(text, 'utf8')), trust);
  });

  it('key id is the first 16 hex digits of sha256 of the raw public key', () => {
    const der = createPublicKey(keys.publicKeyPem).export({ type: 'spki', format: 'der' });
    assert.equal(keys.keyId, sha256(der.subarray(der.length - 32)).slice(0, 16));
    assert.equal(keyIdOf(createPublicKey(keys.publicKeyPem)), keys.keyId);
    assert.match(keys.keyId, /^[0-9a-f]{16}$/);
  });

  it('signs canonical bytes: re-ordered keys and other whitespace still verify', () => {
    const original = JSON.parse(signedText()) as unknown;
    const rewritten = JSON.stringify(reorder(original), null, '\t');
    assert.notEqual(rewritten, signedText());
    verifyBundle(parseBundle(rewritten), trust);
    const compact = JSON.stringify(original);
    verifyBundle(parseBundle(compact), trust);
    // Canonical bytes do not depend on key order.
    assert.deepEqual(canonicalBytes(reorder(samplePayload())), canonicalBytes(samplePayload()));
  });

  it('detects tampering: one changed character in an edit text', () => {
    const text = signedText();
    const tampered = text.replace('return a + 2; /* fixed', 'return a + 3; /* fixed');
    assert.notEqual(tampered, text);
    const bundle = parseBundle(tampered);
    assert.equal(
      codeOf(() => verifyBundle(bundle, trust)),
      'E_SIGNATURE_INVALID',
    );
  });

  it('detects tampering of metadata (severity) and of the signature value', () => {
    const b1 = parseBundle(signedText());
    b1.payload.severity = 'low';
    assert.equal(
      codeOf(() => verifyBundle(b1, trust)),
      'E_SIGNATURE_INVALID',
    );
    const b2 = parseBundle(signedText());
    const sig = Buffer.from(b2.signature!.value, 'base64');
    sig[0] = (sig[0] ?? 0) ^ 1;
    b2.signature!.value = sig.toString('base64');
    assert.equal(
      codeOf(() => verifyBundle(b2, trust)),
      'E_SIGNATURE_INVALID',
    );
  });

  it('refuses a bundle signed by a key that is not trusted', () => {
    const other = generateSigningKey();
    const otherTrust = new TrustStore([loadPublicKey(other.publicKeyPem)]);
    const bundle = parseBundle(signedText());
    assert.equal(
      codeOf(() => verifyBundle(bundle, otherTrust)),
      'E_UNTRUSTED_KEY',
    );
    assert.equal(
      codeOf(() => verifyBundle(bundle, new TrustStore())),
      'E_UNTRUSTED_KEY',
    );
  });

  it('refuses an unsigned bundle', () => {
    const bundle = parseBundle(serializeBundle({ payload: samplePayload() }));
    assert.equal(bundle.signature, undefined);
    assert.equal(
      codeOf(() => verifyBundle(bundle, trust)),
      'E_SIGNATURE_MISSING',
    );
  });

  it('rejects truncated or corrupt files with a BundleError (exit 2)', () => {
    const text = signedText();
    for (const bad of [
      text.slice(0, Math.floor(text.length / 2)),
      '',
      'null',
      '[]',
      '{"payload":{}}',
      'garbage',
    ]) {
      assert.throws(
        () => parseBundle(bad, 'x.hpatch'),
        (e: unknown) => e instanceof BundleError && e.exitCode === 2 && !e.message.includes('\n'),
      );
    }
  });

  it('rejects schema violations: bad sha256, bad patch id, unknown verdict', () => {
    const mutate = (f: (p: Record<string, unknown>) => void) => {
      const raw = JSON.parse(signedText()) as { payload: Record<string, unknown> };
      f(raw.payload);
      return JSON.stringify(raw);
    };
    const badSha = mutate((p) => {
      (p.files as Array<Record<string, unknown>>)[0]!.baselineSha256 = 'abc';
    });
    assert.equal(
      codeOf(() => parseBundle(badSha)),
      'E_BUNDLE_CORRUPT',
    );
    assert.equal(
      codeOf(() => parseBundle(mutate((p) => void (p.patchId = '../etc')))),
      'E_BUNDLE_CORRUPT',
    );
    const badVerdict = mutate((p) => {
      (p.ignored as Array<Record<string, unknown>>)[0]!.verdict = 'maybe';
    });
    assert.equal(
      codeOf(() => parseBundle(badVerdict)),
      'E_BUNDLE_CORRUPT',
    );
  });

  it('rejects overlapping or out-of-order edits', () => {
    const raw = JSON.parse(signedText()) as { payload: BundlePayload };
    raw.payload.files[0]!.edits = [
      { start: 5, end: 10, text: 'a' },
      { start: 2, end: 4, text: 'b' },
    ];
    assert.equal(
      codeOf(() => parseBundle(JSON.stringify(raw))),
      'E_BUNDLE_CORRUPT',
    );
  });

  it('rejects another format version with E_BUNDLE_VERSION', () => {
    const raw = JSON.parse(signedText()) as { payload: Record<string, unknown> };
    raw.payload.formatVersion = BUNDLE_FORMAT_VERSION + 1;
    assert.equal(
      codeOf(() => parseBundle(JSON.stringify(raw))),
      'E_BUNDLE_VERSION',
    );
  });

  it('applyEdits produces the patched source and checks its hash', () => {
    const file = samplePayload().files[0]!;
    assert.equal(applyEdits(baseline, file), patched);
    // Offsets are UTF-16 code units: an astral character before the edit shifts it by two.
    const prefix = '/*𝒳*/';
    assert.equal(prefix.length, 6); // 5 code points, 6 UTF-16 code units
    const shifted = {
      ...file,
      edits: [{ start: 6, end: 6 + baseline.indexOf('\n'), text: fixedBody }],
      patchedSha256: sha256(prefix + patched),
    };
    assert.equal(applyEdits(prefix + baseline, shifted), prefix + patched);
    // A different baseline (outside the edited range) gives a different result: hash mismatch.
    assert.equal(
      codeOf(() => applyEdits(baseline.replace('exports = f', 'exports = g'), file)),
      'E_BUNDLE_CORRUPT',
    );
    assert.throws(() => applyEdits('short', file), BundleError);
  });

  it('loads keys strictly', () => {
    assert.equal(
      codeOf(() => loadPrivateKey('not a key')),
      'E_KEY',
    );
    assert.equal(
      codeOf(() => loadPublicKey(keys.privateKeyPem.replace(/PRIVATE/g, 'PUBLIC'))),
      'E_KEY',
    );
  });
});

describe('version identifiers', () => {
  it('shows baseline + hotpatch level, distinct from the fixed release', () => {
    assert.equal(hotpatchVersion('4.17.20', 1), '4.17.20+hp.1');
    assert.deepEqual(parseHotpatchVersion('4.17.20+hp.2'), { baseline: '4.17.20', level: 2 });
    assert.deepEqual(parseHotpatchVersion('4.17.21'), { baseline: '4.17.21', level: 0 });
    assert.throws(() => hotpatchVersion('1.0.0', 0), RangeError);
  });
});
