import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BundlePayload, parseBundle, serializeBundle, signBundle, verifyBundle } from './bundle.js';
import { bundleProblem } from './bundle-checks.js';
import { HotpatchError } from './errors.js';
import { sha256 } from './hash.js';
import { generateSigningKey, loadPrivateKey, loadPublicKey, signatureBytes, TrustStore } from './signing.js';
import { samplePayload } from './testing.js';

/** The sample under another path, to see that messages name the file. */
const payload = (): BundlePayload => {
  const p = samplePayload({ patchId: 'HP-checks-1' });
  p.files[0]!.path = 'lib/index.js';
  return p;
};

const key = generateSigningKey();
/** Signed by a trusted key: the checks must hold whoever signed. */
function signed(edit: (p: BundlePayload) => void): string {
  const p = payload();
  edit(p);
  return serializeBundle(signBundle(p, loadPrivateKey(key.privateKeyPem)));
}

function refusal(edit: (p: BundlePayload) => void): string {
  try {
    parseBundle(signed(edit));
  } catch (e) {
    assert.ok(e instanceof HotpatchError);
    assert.equal(e.code, 'E_BUNDLE_CORRUPT');
    assert.doesNotMatch(e.message, /\n/, 'one line');
    return e.message;
  }
  assert.fail('bundle was accepted');
}

describe('bundle structure checks (before anything is touched)', () => {
  it('accepts a well-formed bundle', () => {
    assert.equal(bundleProblem(payload()), null);
    assert.equal(parseBundle(signed(() => {})).payload.patchId, 'HP-checks-1');
  });

  it('refuses two entries for one file', () => {
    const msg = refusal((p) => p.files.push(structuredClone(p.files[0]!)));
    assert.match(msg, /files\[1\] \(lib\/index\.js\): a second entry for the same file/);
  });

  it('refuses overlapping, reversed and out-of-order edits', () => {
    assert.match(
      refusal((p) => {
        p.files[0]!.edits = [
          { start: 0, end: 10, text: 'a' },
          { start: 5, end: 12, text: 'b' },
        ];
      }),
      /edit 1 overlaps/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.edits = [{ start: 10, end: 5, text: 'a' }];
      }),
      /edit 0 ends \(5\) before it starts \(10\)/,
    );
  });

  it('refuses replacement functions that do not match the edits and live changes', () => {
    assert.match(
      refusal((p) => {
        p.files[0]!.functions.push({ key: 'g', call: 'params', params: ['b'], source: '(function (b) {})' });
      }),
      /replacement for g, which no live change names/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.changes.push({
          id: 'function-changed',
          kind: 'function-body',
          name: 'f',
          verdict: 'live',
          reason: 'x',
        });
        p.files[0]!.functions.push({ ...p.files[0]!.functions[0]! });
      }),
      /two replacements for function f/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.functions = [];
        p.files[0]!.migrations = [{ kind: 'cell', key: 'k', source: '1', author: false }];
      }),
      /edits without replacement functions/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.edits = [];
      }),
      /no edits for LiveEdit, and no reason why/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.liveEdit = 'needs the redirect engine';
      }),
      /edits for LiveEdit, which the bundle says cannot take it/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.edits = [];
        p.files[0]!.functions = [];
      }),
      /changes nothing/,
    );
  });

  it('refuses migrations without what their kind needs, and added files whose hash does not match', () => {
    assert.match(
      refusal((p) => {
        p.files[0]!.migrations.push({ kind: 'assign', source: '1', author: false });
      }),
      /migration 0 \(assign\): no target or key/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.migrations.push({ kind: 'script', source: 'x = 1', author: false });
      }),
      /not marked as written by the patch author/,
    );
    assert.match(
      refusal((p) => {
        p.newFiles.push({ path: 'lib/new.js', sourceType: 'commonjs', source: 'x', sha256: sha256('y') });
      }),
      /newFiles\[0\] \(lib\/new\.js\): source does not match its sha256/,
    );
    assert.match(
      refusal((p) => {
        p.newFiles.push({ path: 'lib/index.js', sourceType: 'commonjs', source: 'x', sha256: sha256('x') });
      }),
      /a second entry for the same file/,
    );
  });

  it('refuses empty ids and paths that leave the package', () => {
    assert.match(
      refusal((p) => {
        p.files[0]!.functions[0]!.key = '';
      }),
      /key/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.changes[0]!.name = '';
      }),
      /name/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.path = '../outside.js';
      }),
      /path has an empty, \. or \.\. segment/,
    );
    assert.match(
      refusal((p) => {
        p.files[0]!.path = '/etc/passwd';
      }),
      /path is absolute/,
    );
    assert.match(
      refusal((p) => {
        p.supersedes = [p.patchId];
      }),
      /supersedes itself/,
    );
  });
});

describe('signature encoding', () => {
  const trust = new TrustStore([loadPublicKey(key.publicKeyPem)]);
  const good = parseBundle(signed(() => {}));

  it('accepts only the canonical base64 of the 64 signature bytes', () => {
    verifyBundle(good, trust);
    const value = good.signature!.value;
    assert.ok(signatureBytes(value));
    // The character before '==' carries 2 bits of data and 4 padding bits: a different character
    // with the same 2 data bits decodes to the same 64 bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const i = alphabet.indexOf(value[85]!);
    const twin = `${value.slice(0, 85)}${alphabet[(i & ~15) | ((i + 1) & 15)]}==`;
    assert.notEqual(twin, value);
    assert.deepEqual(Buffer.from(twin, 'base64'), Buffer.from(value, 'base64'), 'same bytes');
    for (const variant of [
      twin,
      `${value}\n`,
      ` ${value}`,
      value.replace('==', ''),
      `${value.slice(0, 40)}*${value.slice(40)}`,
    ]) {
      assert.throws(
        () => verifyBundle({ ...good, signature: { ...good.signature!, value: variant } }, trust),
        (e: HotpatchError) => e.code === 'E_SIGNATURE_INVALID' && /canonical base64/.test(e.message),
        JSON.stringify(variant),
      );
    }
  });
});
