import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OsvRecord } from '@hotpatch/protocol';
import { MINIMIST_OSV } from '../test/osv-fixtures.js';
import { advisoryIds, affects, fixedVersion } from './osv.js';

test('OSV ranges: introduced/fixed, several ranges, other packages and ecosystems', () => {
  const table: Array<[string, string, boolean]> = [
    ['minimist', '1.2.5', true],
    ['minimist', '1.2.6', false],
    ['minimist', '1.0.0', true],
    ['minimist', '0.2.3', true],
    ['minimist', '0.2.4', false],
    ['minimist', '0.9.0', false],
    ['minimist', '2.0.0', false],
    ['minimist', 'not-a-version', false],
    ['lodash', '1.2.5', false],
  ];
  for (const [name, version, want] of table)
    assert.equal(affects(MINIMIST_OSV, name, version), want, `${name}@${version}`);
  const pypi: OsvRecord = {
    ...MINIMIST_OSV,
    affected: MINIMIST_OSV.affected.map((a) => ({ ...a, package: { ...a.package, ecosystem: 'PyPI' } })),
  };
  assert.equal(affects(pypi, 'minimist', '1.2.5'), false);
});

test('OSV: last_affected is inclusive, explicit versions, withdrawn records', () => {
  const r: OsvRecord = {
    id: 'OSV-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'p' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '2.0.0' }, { last_affected: '2.3.1' }] }],
        versions: ['1.0.0'],
      },
    ],
  };
  assert.equal(affects(r, 'p', '2.3.1'), true);
  assert.equal(affects(r, 'p', '2.3.2'), false);
  assert.equal(affects(r, 'p', '1.9.9'), false);
  assert.equal(affects(r, 'p', '1.0.0'), true);
  assert.equal(affects({ ...r, withdrawn: '2024-02-01T00:00:00Z' }, 'p', '2.3.1'), false);
  // A GIT range says nothing about npm versions.
  const git: OsvRecord = {
    ...r,
    affected: [
      { package: { ecosystem: 'npm', name: 'p' }, ranges: [{ type: 'GIT', events: [{ introduced: '0' }] }] },
    ],
  };
  assert.equal(affects(git, 'p', '2.0.0'), false);
});

test('OSV: CVE ids first, fixed version for a vulnerable version', () => {
  assert.deepEqual(advisoryIds(MINIMIST_OSV), ['CVE-2021-44906', 'GHSA-xvch-5gv4-984h']);
  assert.equal(fixedVersion(MINIMIST_OSV, 'minimist', '1.2.5'), '1.2.6');
  assert.equal(fixedVersion(MINIMIST_OSV, 'minimist', '0.1.0'), '0.2.4');
});
