/**
 * Test fixtures for packages that sign, check or publish bundles (`@hotpatch/core/testing`; not
 * part of the public API): one well-formed bundle payload whose edits apply to a small baseline.
 */
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, type BundlePayload, KEY_SCHEME } from './bundle.js';
import { sha256 } from './hash.js';
import { hotpatchVersion } from './version-id.js';

/** The baseline module the sample patches: f's body changes, the rest stays. */
export const SAMPLE_BASELINE = 'function f(a) { return a + 1; }\nmodule.exports = f;\n';
/** f as patched; the non-ASCII comment makes hashing and signing see multi-byte text. */
export const SAMPLE_FIX = 'function f(a) { return a + 2; /* fixed: ünïcode ✓ */ }';
/** SAMPLE_BASELINE with the sample's edit applied. */
export const SAMPLE_PATCHED = SAMPLE_FIX + SAMPLE_BASELINE.slice(SAMPLE_BASELINE.indexOf('\n'));

/**
 * A well-formed payload for demo@1.0.0 (one file, one live function change, one ignored change),
 * fresh on each call so tests may edit it; `over` replaces top-level fields.
 */
export function samplePayload(over: Partial<BundlePayload> = {}): BundlePayload {
  return {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    keyScheme: KEY_SCHEME,
    // The calling convention instrument's CONVENTION_VERSION names (core cannot import it).
    convention: 6,
    patchId: 'HP-20250101-abcdef',
    version: hotpatchVersion('1.0.0', 1),
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
        baselineSha256: sha256(SAMPLE_BASELINE),
        patchedSha256: sha256(SAMPLE_PATCHED),
        edits: [{ start: 0, end: SAMPLE_BASELINE.indexOf('\n'), text: SAMPLE_FIX }],
        liveEdit: null,
        functions: [{ key: 'f', call: 'params', params: ['a'], source: '(function (a) { return a + 2; })' }],
        migrations: [],
        changes: [
          {
            id: 'function-changed',
            kind: 'function-body',
            name: 'f',
            verdict: 'live',
            reason: 'changed code',
            line: 1,
          },
        ],
      },
    ],
    newFiles: [],
    ignored: [
      {
        id: 'package-version',
        kind: 'version-string',
        name: 'package.json version',
        verdict: 'ignored',
        reason: '1.0.0 → 1.0.1',
      },
    ],
    ...over,
  };
}
