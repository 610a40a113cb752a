/**
 * Behaviour oracle benchmark (issue 9 item 2): for every pair of corpus/advisories.tsv, the
 * vulnerable release with the hotpatch applied and the fixed release answer the same generated
 * calls (oracle/run.ts); every divergence is classified by what the unpatched release did.
 * No hand-written exploit is used (the check file is only read for the entries it loads).
 *
 *   node packages/e2e/dist/bench/oracle.js [--node 26] [--set seed,tune,holdout] [--only name@version,...]
 *        [--max-calls N] [--pair-ms MS] [--no-write]
 *   node packages/e2e/dist/bench/oracle.js --only PAIR --pair-ms 600000 --merge   (rows replaced in the full run)
 *   node packages/e2e/dist/bench/oracle.js --report-only [--releases X]  (docs/oracle.md from the last run's JSON)
 *   node packages/e2e/dist/bench/oracle.js --releases semver,qs --last 3   (consecutive releases, not the corpus)
 * Writes .cache/bench/oracle.json and the generated part of docs/oracle.md (unless --no-write or a
 * partial run); the section is the one docs/coverage.md shows beside the coverage table.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '@hotpatch/core';
import { oracleMarkdown, type PairReport } from '../oracle/classify.js';
import { publishedFormat } from '../oracle/inputs.js';
import { DEFAULT_RUN, type OraclePair, runPair } from '../oracle/run.js';
import {
  cacheDir,
  corpusSet,
  label,
  prepareCase,
  readAdvisories,
  readSelections,
} from '../testing/advisories.js';
import { nodeBinaries, repoRoot } from '../testing/nodes.js';
import { consecutivePairs, registryVersions } from '../testing/releases.js';
import { exitOnHelp } from './usage.js';

exitOnHelp(`Usage: node packages/e2e/dist/bench/oracle.js [--node 26] [--set seed,tune,holdout] [--only name@version,...]
       [--max-calls N] [--pair-ms MS] [--no-write] [--merge] [--report-only]
       [--releases NAME,... [--last K]]
The vulnerable release with the hotpatch applied and the fixed release answer the same generated
calls; every divergence is classified. Writes .cache/bench/oracle.json and docs/oracle.md (unless
--no-write or a partial run). --releases: instead of the corpus, the last K+1 stable releases of
each package (default K = 3) as K consecutive pairs, each release hotpatched to the next; written to
.cache/bench/oracle-releases.json and its own section of docs/oracle.md.`);

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const wantNodes = (arg('--node') ?? '26').split(',').map(Number);
const wantOnly = arg('--only')?.split(',');
const wantSets = arg('--set')?.split(',');
const partial = Boolean(wantOnly || wantSets);
// --merge: a partial run (e.g. a pair again with a longer --pair-ms) replaces its rows in the last
// full run's .cache/bench/oracle.json, and docs/oracle.md is written from the result.
const merge = process.argv.includes('--merge');
const wantReleases = arg('--releases')?.split(',');
const last = Number(arg('--last') ?? 3);
const write = !process.argv.includes('--no-write') && !partial && !wantReleases;
const opts = {
  ...DEFAULT_RUN,
  pairMs: Number(arg('--pair-ms') ?? DEFAULT_RUN.pairMs),
  limits: { ...DEFAULT_RUN.limits, maxCalls: Number(arg('--max-calls') ?? DEFAULT_RUN.limits.maxCalls) },
};

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    // Regenerates the doc from the last full run (or the last --releases run), running nothing.
    const file = join(cacheDir('bench'), wantReleases ? 'oracle-releases.json' : 'oracle.json');
    if (!existsSync(file)) {
      console.error(`oracle: no run to report (${file}): run the benchmark first`);
      process.exitCode = 2;
      return;
    }
    const reports = JSON.parse(readFileSync(file, 'utf8')) as PairReport[];
    const md = oracleMarkdown(reports, wantReleases ? { heading: '## Consecutive releases' } : {});
    if (wantReleases) writeDoc(join(repoRoot, 'docs', 'oracle.md'), md, RELEASES_BEGIN, RELEASES_END);
    else writeDoc(join(repoRoot, 'docs', 'oracle.md'), md);
    console.log(md);
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'hotpatch-oracle-'));
  process.env.HOTPATCH_HOME = home;
  const key = generateSigningKey();
  const keyFile = join(home, 'k.pub');
  writeFileSync(keyFile, key.publicKeyPem);
  const selections = readSelections();
  const advisories = wantReleases
    ? wantReleases.flatMap((name) => consecutivePairs(name, registryVersions(name), last))
    : readAdvisories().filter(
        (a) => (!wantOnly || wantOnly.includes(label(a))) && (!wantSets || wantSets.includes(corpusSet(a))),
      );
  const nodes = nodeBinaries().filter((n) => wantNodes.includes(n.major));
  const reports: PairReport[] = [];
  for (const [i, a] of advisories.entries()) {
    let pair: OraclePair;
    try {
      const b = await prepareCase(a, key, selections);
      // A release pair has no advisory row saying how it is published: its package.json does.
      if (a.origin === 'releases') a.format = publishedFormat(installedPackage(b.fixedDir, a.name));
      const refused = b.build.result.changes
        .filter((c) => c.verdict === 'restart')
        .map((c) => `${c.id} (${c.file}: ${c.name})`);
      pair = {
        advisory: a,
        fixed: b.fixed,
        dir: b.dir,
        fixedDir: b.fixedDir,
        check: b.check,
        bundle: b.build.result.payload
          ? b.build.bytes
          : {
              refused:
                refused.slice(0, 2).join('; ') ||
                (b.build.result.refusal === 'nothing'
                  ? 'nothing to patch (no code change)'
                  : (b.build.result.refusal ?? 'no payload')),
            },
      };
    } catch (e) {
      process.stderr.write(
        `[${i + 1}/${advisories.length}] ${label(a)}: build failed: ${(e as Error).message}\n`,
      );
      continue;
    }
    for (const n of nodes) {
      const r = await runPair(
        pair,
        {
          nodeBin: n.bin,
          node: n.major,
          env: { ...process.env, HOTPATCH_HOME: home, HOTPATCH_TRUSTED_KEYS: keyFile },
        },
        opts,
      );
      reports.push(r);
      const c = r.counts;
      process.stderr.write(
        `[${i + 1}/${advisories.length}] node ${n.major} ${label(a).padEnd(36)} ${r.status.padEnd(12)} calls ${r.calls} agree ${c.agree} working ${c['fix-working']} not-applied ${c['fix-not-applied']} DEFECT ${c['patch-defect']} names-kept ${c['names-kept']} nondet ${c.unstable} api ${c['api-added']} ${Math.round(r.ms / 1000)}s ${r.detail.slice(0, 120)}\n`,
      );
    }
  }
  if (wantReleases) {
    writeFileSync(join(cacheDir('bench'), 'oracle-releases.json'), `${JSON.stringify(reports, null, 2)}\n`);
    const md = oracleMarkdown(reports, { heading: '## Consecutive releases' });
    if (!process.argv.includes('--no-write'))
      writeDoc(join(repoRoot, 'docs', 'oracle.md'), md, RELEASES_BEGIN, RELEASES_END);
    console.log(md);
    return;
  }
  writeFileSync(
    join(cacheDir('bench'), partial ? 'oracle-partial.json' : 'oracle.json'),
    `${JSON.stringify(reports, null, 2)}\n`,
  );
  const all = merge ? mergeInto(reports) : reports;
  const md = oracleMarkdown(all);
  if (write || merge) writeDoc(join(repoRoot, 'docs', 'oracle.md'), md);
  console.log(md);
}

/** The last full run with these reports in place of its rows for the same pair and Node; saved. */
function mergeInto(reports: PairReport[]): PairReport[] {
  const file = join(cacheDir('bench'), 'oracle.json');
  const old = JSON.parse(readFileSync(file, 'utf8')) as PairReport[];
  const key = (r: PairReport) => `${r.pair} ${r.node}`;
  const fresh = new Map(reports.map((r) => [key(r), r]));
  const out = old.map((r) => fresh.get(key(r)) ?? r);
  for (const r of reports) if (!old.some((o) => key(o) === key(r))) out.push(r);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

const BEGIN = '<!-- bench:oracle begin (generated, do not edit) -->';
const END = '<!-- bench:oracle end -->';
const RELEASES_BEGIN = '<!-- bench:oracle-releases begin (generated, do not edit) -->';
const RELEASES_END = '<!-- bench:oracle-releases end -->';

function installedPackage(dir: string, name: string): { type?: unknown; exports?: unknown } {
  return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'));
}

/** Replaces a generated part of docs/oracle.md, keeping the written explanations around it. */
function writeDoc(file: string, md: string, begin = BEGIN, end = END): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : `# Behaviour oracle\n\n${begin}\n${end}\n`;
  const i = old.indexOf(begin);
  const j = old.indexOf(end);
  const text =
    i === -1 || j < i
      ? `${old.trimEnd()}\n\n${begin}\n${md}${end}\n`
      : `${old.slice(0, i + begin.length)}\n${md}${old.slice(j)}`;
  writeFileSync(file, text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
