import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycloneDxVex, openVex } from './documents.js';
import { npmPurl, type VexInstance, type VexPatch, vexStatements } from './model.js';
import { validateCycloneDx, validateOpenVex } from './validate.js';

const patch: VexPatch = {
  patchId: 'HP-minimist-1',
  version: '1.2.5+hp.1',
  target: 'minimist@1.2.5',
  advisories: ['CVE-2021-44906'],
  fixedIn: '1.2.6',
};
const proc = (
  name: string,
  patches: VexInstance['patches'] = [],
  extra: Partial<VexInstance> = {},
): VexInstance => ({
  name,
  pid: 100,
  startedAt: '2026-01-01T00:00:00.000Z',
  packages: [
    { name: 'minimist', version: '1.2.5' },
    { name: 'express', version: '4.19.2' },
  ],
  patches,
  ...extra,
});
const applied = (at: string) => ({
  patchId: patch.patchId,
  version: patch.version,
  target: patch.target,
  advisories: patch.advisories,
  state: 'applied',
  appliedAt: at,
});
const meta = {
  author: 'test',
  scope: 'test',
  now: new Date('2026-02-01T00:00:00.000Z'),
  toolVersion: '0.1.0',
};

test('affected with a hotpatch available; fixed when every instance runs it; since = the last apply', () => {
  const [a] = vexStatements(
    [patch],
    [proc('h1/web pid 1'), proc('h2/web pid 2', [applied('2026-01-02T00:00:00.000Z')])],
  );
  assert.equal(a?.status, 'affected');
  assert.deepEqual(a?.affected, ['h1/web pid 1']);
  assert.deepEqual(a?.action, { kind: 'hotpatch-available', patchId: patch.patchId, version: patch.version });
  assert.equal(a?.fixed[0]?.patchId, patch.patchId);
  assert.equal(a?.component.purl, 'pkg:npm/minimist@1.2.5');

  const [f] = vexStatements(
    [patch],
    [
      proc('h1/web pid 1', [applied('2026-01-03T00:00:00.000Z')]),
      proc('h2/web pid 2', [applied('2026-01-02T00:00:00.000Z')]),
    ],
  );
  assert.equal(f?.status, 'fixed');
  assert.equal(f?.action, null);
  assert.equal(f?.since, '2026-01-03T00:00:00.000Z');
  assert.equal(f?.fixed.length, 2);
});

test('a pending or failed patch is not a fix; an ineligible process needs the baseline', () => {
  const pending = { ...applied('2026-01-02T00:00:00.000Z'), state: 'pending', appliedAt: null };
  const [p] = vexStatements([patch], [proc('h/web pid 1', [pending])]);
  assert.equal(p?.status, 'affected');
  const [b] = vexStatements([patch], [proc('h/web pid 1', [], { hotpatchable: false })]);
  assert.deepEqual(b?.action, { kind: 'baseline-needed', fixedIn: '1.2.6' });
});

test('only components a hotpatch was built for are stated; the running patch alone is enough to know it', () => {
  assert.deepEqual(
    vexStatements([patch], [proc('x', [], { packages: [{ name: 'minimist', version: '1.2.8' }] })]),
    [],
  );
  const [s] = vexStatements([], [proc('h/web pid 1', [applied('2026-01-02T00:00:00.000Z')])]);
  assert.equal(s?.status, 'fixed');
  assert.equal(npmPurl('@scope/pkg', '1.0.0'), 'pkg:npm/%40scope/pkg@1.0.0');
});

test('documents: OpenVEX validates against the vendored schema, CycloneDX with the library validator', async () => {
  const statements = vexStatements(
    [patch],
    [proc('h1/web pid 1'), proc('h2/web pid 2', [applied('2026-01-02T00:00:00.000Z')])],
  );
  const ov = openVex(statements, meta);
  assert.equal(validateOpenVex(ov), null);
  assert.equal(ov.statements[0]?.status, 'affected');
  assert.match(
    ov.statements[0]?.action_statement ?? '',
    /hotpatch available: apply HP-minimist-1 \(version 1\.2\.5\+hp\.1\)/,
  );
  assert.match(
    ov.statements[0]?.status_notes ?? '',
    /h2\/web pid 2 runs HP-minimist-1 \(1\.2\.5\+hp\.1\) in memory since 2026-01-02/,
  );
  assert.match(ov.statements[0]?.status_notes ?? '', /on disk: minimist@1\.2\.5/);
  // Grype matches products against the scanned image: the package becomes a subcomponent.
  const image = openVex(statements, { ...meta, product: 'pkg:oci/web@sha256%3Aabc' });
  assert.equal(validateOpenVex(image), null);
  assert.deepEqual(image.statements[0]?.products[0], {
    '@id': 'pkg:oci/web@sha256%3Aabc',
    subcomponents: [{ '@id': 'pkg:npm/minimist@1.2.5', identifiers: { purl: 'pkg:npm/minimist@1.2.5' } }],
  });
  // The validator can fail: an affected statement without its action is refused.
  const broken = structuredClone(ov) as { statements: Array<Record<string, unknown>> };
  delete broken.statements[0]?.action_statement;
  assert.match(validateOpenVex(broken) ?? '', /action_statement/);

  const cdx = cycloneDxVex(statements, meta) as {
    specVersion: string;
    vulnerabilities: Array<{
      id: string;
      analysis: { state: string };
      affects: Array<{ versions: Array<{ status: string }> }>;
    }>;
  };
  assert.equal(await validateCycloneDx(cdx), null);
  assert.equal(cdx.specVersion, '1.5');
  assert.equal(cdx.vulnerabilities[0]?.analysis.state, 'exploitable');
  assert.equal(cdx.vulnerabilities[0]?.affects[0]?.versions[0]?.status, 'affected');
  const bad = structuredClone(cdx);
  (bad.vulnerabilities[0] as { analysis: { state: string } }).analysis.state = 'patched';
  assert.notEqual(await validateCycloneDx(bad), null);
});
