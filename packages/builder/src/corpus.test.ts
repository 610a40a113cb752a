import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  applyEdits,
  generateSigningKey,
  loadPrivateKey,
  loadPublicKey,
  parseBundle,
  serializeBundle,
  sha256,
  signBundle,
  TrustStore,
  verifyBundle,
} from '@hotpatch/core';
import { type BuildResult, buildPatch } from './build.js';
import { type ResolvedSpec, resolveSpec } from './spec.js';

/**
 * The builder on real fixes: every seed pair of corpus/advisories.tsv (embedded below, so a
 * clean clone needs nothing but the npm registry), fetched with npm into the repo's .cache/.
 * Expected verdicts were read from the diffs.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
process.env.HOTPATCH_CACHE ||= join(repoRoot, '.cache', 'hotpatch');

const CORPUS = [
  ['path-to-regexp', '0.1.9', '0.1.10', 'CVE-2024-45296'],
  ['path-to-regexp', '6.2.2', '6.3.0', 'CVE-2024-45296'],
  ['minimist', '1.2.5', '1.2.6', 'CVE-2021-44906'],
  ['qs', '6.10.2', '6.10.3', 'CVE-2022-24999'],
  ['semver', '7.5.1', '7.5.2', 'CVE-2022-25883'],
  ['ansi-regex', '5.0.0', '5.0.1', 'CVE-2021-3807'],
  ['serve-static', '1.15.0', '1.16.0', 'CVE-2024-43800'],
  ['body-parser', '1.20.2', '1.20.3', 'CVE-2024-45590'],
  ['express', '4.19.2', '4.20.0', 'CVE-2024-43796'],
  ['cross-spawn', '7.0.3', '7.0.5', 'CVE-2024-21538'],
  ['micromatch', '4.0.7', '4.0.8', 'CVE-2024-4067'],
  ['braces', '3.0.2', '3.0.3', 'CVE-2024-4068'],
  ['follow-redirects', '1.15.3', '1.15.4', 'CVE-2023-26159'],
  ['json5', '2.2.1', '2.2.2', 'CVE-2022-46175'],
  ['lodash', '4.17.20', '4.17.21', 'CVE-2021-23337'],
  ['minimatch', '3.0.4', '3.0.5', 'CVE-2022-3517'],
  ['node-fetch', '2.6.6', '2.6.7', 'CVE-2022-0235'],
  ['cookie', '0.6.0', '0.7.0', 'CVE-2024-47764'],
  ['ws', '8.17.0', '8.17.1', 'CVE-2024-37890'],
] as const;

/** Read from the diffs: the fix needs a baseline (restart), and why; every other pair goes live. */
// body-parser (a new `depth` computed in the middleware factory: a shadow variable) and
// follow-redirects (URL handling chosen at load by a try statement, re-run at apply; a helper
// that gained a parameter is a new function) were here until the builder learned them.
const RESTART = new Map<string, { file: string; id: string }>([]);
/** The selection a person makes for pairs whose release carries an unrelated change (corpus/selections.json). */
const SELECTIONS: Record<string, { exclude: string[] }> = {
  'minimatch@3.0.4': { exclude: ['minimatch.js:path'] },
};

const resolved = new Map<string, ResolvedSpec>();

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(workers);
}

describe('builder on the advisory corpus (real npm packages)', () => {
  before(async () => {
    const specs = [...new Set(CORPUS.flatMap(([name, a, b]) => [`npm:${name}@${a}`, `npm:${name}@${b}`]))];
    await pool(specs, 4, async (spec) => {
      resolved.set(spec, await resolveSpec(spec));
    });
  });

  it('embeds every seed pair of corpus/advisories.tsv', () => {
    const rows = readFileSync(join(repoRoot, 'corpus/advisories.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .filter((line) => line.endsWith('\tseed'))
      .map((line) => line.split('\t').slice(0, 3).join(' '));
    assert.equal(rows.length, CORPUS.length);
    const embedded = new Set(CORPUS.map((row) => row.slice(0, 3).join(' ')));
    for (const row of rows) assert.ok(embedded.has(row), `corpus row missing from this test: ${row}`);
  });

  const keys = generateSigningKey();
  const privateKey = loadPrivateKey(keys.privateKeyPem);
  const trust = new TrustStore([loadPublicKey(keys.publicKeyPem)]);

  for (const [name, vulnerable, fixed, advisory] of CORPUS) {
    const id = `${name}@${vulnerable}`;
    const expect = RESTART.has(id) ? 'restart' : 'live';
    it(`${id} → ${fixed} (${advisory}): ${expect}`, () => {
      const from = resolved.get(`npm:${name}@${vulnerable}`)!;
      const to = resolved.get(`npm:${name}@${fixed}`)!;
      assert.equal(from.version, vulnerable);
      assert.equal(to.version, fixed);
      const r: BuildResult = buildPatch({
        from,
        to,
        advisories: [advisory],
        now: new Date('2025-01-01T00:00:00Z'),
        ...SELECTIONS[id],
      });
      assert.ok(r.changes.length > 0, 'no changes found');
      for (const c of r.changes) assert.ok(c.reason.trim().length > 0, `${c.file}:${c.name} has no reason`);
      const restarts = r.changes.filter((c) => c.verdict === 'restart');
      if (expect === 'live') {
        assert.equal(
          r.refusal,
          null,
          `expected live; restart reasons: ${restarts.map((c) => `${c.file}:${c.name}: ${c.reason}`).join('; ')}`,
        );
      } else {
        const why = RESTART.get(id)!;
        assert.equal(r.refusal, 'restart');
        assert.equal(r.payload, null);
        assert.ok(
          restarts.some((c) => c.file === why.file && c.id === why.id),
          `expected ${why.id} in ${why.file}; got ${restarts.map((c) => `${c.file}:${c.id}`).join(', ')}`,
        );
      }
      if (r.payload) {
        const p = r.payload;
        assert.deepEqual(p.target, { kind: 'npm', name, version: vulnerable });
        assert.equal(p.version, `${vulnerable}+hp.1`);
        assert.equal(p.fixedIn, fixed);
        assert.deepEqual(p.advisories, [advisory]);
        assert.ok(p.files.length > 0);
        assert.ok(r.changes.some((c) => c.verdict === 'live'));
        for (const f of p.files) {
          const baseline = readFileSync(join(from.dir, f.path), 'utf8');
          assert.equal(f.baselineSha256, sha256(baseline), `${f.path}: baseline hash`);
          applyEdits(baseline, f);
        }
        // The payload survives signing and a round trip through the file format.
        verifyBundle(parseBundle(serializeBundle(signBundle(p, privateKey))), trust);
      }
    });
  }
});
