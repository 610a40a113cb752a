/**
 * Coverage benchmark (issue 9): every pair of corpus/advisories.tsv, on Node 20, 22, 24 and 26.
 * For each: a process under the runtime loads the vulnerable release and shows the exploit; the
 * builder makes the hotpatch from the two registry releases; it is applied live; the exploit must
 * be gone and ordinary behaviour intact, same pid. The fixed release is the control (the check
 * must not fire there). A success report while the exploit still works fails the whole run, and
 * so does a replacement the builder's own check found invalid.
 *
 * The corpus is reported in its three parts (testing/advisories.ts corpusSet): the seed pairs the
 * builder was developed on, the tuning pairs, and the set-aside pairs nobody looked at through the
 * builder before the run — the figure that says whether a change generalizes.
 *
 *   node packages/e2e/dist/bench/coverage.js [--node 20,26] [--set seed,tune,holdout]
 *        [--only name@version,...] [--engine redirect|liveedit] [--no-write] [--docs]
 * Writes .cache/bench/coverage.json and docs/coverage.md (unless --no-write or a partial run;
 * --docs writes the page from a run on some Node versions, which its table names).
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo } from '@hotpatch/runtime';
import { oracleMarkdown, type PairReport } from '../oracle/classify.js';
import {
  type Advisory,
  cacheDir,
  checkFile,
  corpusSet,
  label,
  type PreparedCase,
  prepareCase,
  readAdvisories,
  readSelections,
} from '../testing/advisories.js';
import { nodeBinaries, repoRoot } from '../testing/nodes.js';
import { Probe } from '../testing/processes.js';
import { exitOnHelp } from './usage.js';

exitOnHelp(`Usage: node packages/e2e/dist/bench/coverage.js [--node 20,26] [--set seed,tune,holdout]
       [--only name@version,...] [--engine redirect|liveedit] [--no-write] [--docs] [--report-only]
Every pair of corpus/advisories.tsv: exploit shown, hotpatch built and applied live, exploit gone,
same pid; reported by corpus part (seed, tune, holdout). Writes .cache/bench/coverage.json and
docs/coverage.md (unless --no-write or a partial run; --docs writes the page from a partial run).
--report-only: the page again from .cache/bench/coverage.json and the oracle's .cache/bench/oracle.json.`);

type Outcome = 'fixed live' | 'refused: restart' | 'failed' | 'INVALID OUTPUT' | 'FALSE SUCCESS';
type CorpusSet = ReturnType<typeof corpusSet>;
interface Row {
  advisory: string;
  cve: string;
  set: CorpusSet;
  format: string;
  build: string;
  node: number;
  outcome: Outcome;
  detail: string;
  /** Verdict ids of the refusal, when refused. */
  ids?: string[];
  applyMs?: number;
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const wantNodes = arg('--node')?.split(',').map(Number);
const wantOnly = arg('--only')?.split(',');
const wantSets = arg('--set')?.split(',') as CorpusSet[] | undefined;
const engine = arg('--engine') ?? 'redirect';
const partial = Boolean(wantNodes || wantOnly || wantSets) || engine !== 'redirect';
// --docs: write docs/coverage.md from a run on some Node versions too (the table names them).
const write = !process.argv.includes('--no-write') && (!partial || process.argv.includes('--docs'));

const selections = readSelections();
const SETS: CorpusSet[] = ['seed', 'tune', 'holdout'];

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    // The page again from the last run's rows, with the oracle's last full run beside them
    // (a whole-corpus oracle run that ended after the coverage run), running nothing.
    // The last run's rows: a whole run, or one on some Node versions with --docs (the newer file).
    const files = ['coverage.json', 'coverage-partial.json']
      .map((f) => join(cacheDir('bench'), f))
      .filter((f) => existsSync(f))
      .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
    if (!files[0]) {
      console.error('coverage: no run to report in .cache/bench: run the benchmark first');
      process.exitCode = 2;
      return;
    }
    const rows = JSON.parse(readFileSync(files[0], 'utf8')) as Row[];
    report(
      rows,
      readAdvisories().filter((a) => rows.some((r) => r.advisory === label(a))),
    );
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'hotpatch-coverage-'));
  process.env.HOTPATCH_HOME = home;
  const key = generateSigningKey();
  const keyFile = join(home, 'k.pub');
  writeFileSync(keyFile, key.publicKeyPem);

  const advisories = readAdvisories().filter(
    (a) => (!wantOnly || wantOnly.includes(label(a))) && (!wantSets || wantSets.includes(corpusSet(a))),
  );
  const builds = new Map<string, PreparedCase | Error>();
  for (const [i, a] of advisories.entries()) {
    process.stderr.write(`[${i + 1}/${advisories.length}] building ${label(a)}\n`);
    try {
      builds.set(label(a), await prepareCase(a, key, selections));
    } catch (e) {
      builds.set(label(a), e as Error);
    }
  }

  const rows: Row[] = [];
  for (const node of nodeBinaries().filter((n) => !wantNodes || wantNodes.includes(n.major))) {
    let generation = 0;
    const start = () =>
      new Probe(node.bin, {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: `coverage-${node.major}-${generation++}`,
        ...(engine === 'liveedit' ? { HOTPATCH_ENGINE: 'liveedit' } : {}),
      });
    let probe = start();
    await probe.ready;
    for (const a of advisories) {
      // A pair that took its process down (a crash is a failure of that pair) gets a new one.
      if (!probe.alive()) {
        probe = start();
        await probe.ready;
      }
      const row = await runOne(a, node.major, probe, builds.get(label(a))!);
      rows.push(row);
      process.stderr.write(
        `node ${node.major}  ${label(a).padEnd(36)} ${row.outcome.padEnd(17)} ${row.detail}\n`,
      );
    }
    await probe.stop();
  }
  report(rows, advisories);
  if (rows.some((r) => r.outcome === 'FALSE SUCCESS' || r.outcome === 'INVALID OUTPUT')) {
    console.error(
      'FAILED: a hotpatch reported success while the exploit still works, or the builder produced invalid code',
    );
    process.exitCode = 1;
  }
}

async function runOne(a: Advisory, node: number, probe: Probe, b: PreparedCase | Error): Promise<Row> {
  const base = {
    advisory: label(a),
    cve: a.advisory,
    set: corpusSet(a),
    format: a.format,
    build: a.build,
    node,
  };
  const check = checkFile(a);
  if (!existsSync(check)) return { ...base, outcome: 'failed', detail: 'no exploit check' };
  if (b instanceof Error) return { ...base, outcome: 'failed', detail: `build: ${b.message.split('\n')[0]}` };
  try {
    const before = await probe.check(check, b.dir);
    if (!before.exploit)
      return { ...base, outcome: 'failed', detail: 'exploit check does not fire on the vulnerable version' };
    const control = await probe.check(check, b.fixedDir);
    if (control.exploit)
      return {
        ...base,
        outcome: 'failed',
        detail: `the fixed release ${b.fixed} still shows the exploit (upstream fix incomplete)`,
      };
    const restarts = b.build.result.changes.filter((c) => c.verdict === 'restart');
    if (restarts.some((c) => c.id === 'invalid-output'))
      return {
        ...base,
        outcome: 'INVALID OUTPUT',
        detail: restarts.find((c) => c.id === 'invalid-output')!.reason,
        ids: ['invalid-output'],
      };
    if (!b.build.result.payload) {
      const why = restarts.map((c) => `${c.id} (${c.file}: ${c.name}): ${c.reason}`);
      const shown = why.length > 2 ? [...why.slice(0, 2), `and ${why.length - 2} more`] : why;
      return {
        ...base,
        outcome: 'refused: restart',
        detail: shown.join('; ') || (b.build.result.refusal ?? ''),
        ids: [...new Set(restarts.map((c) => c.id))],
      };
    }
    const t0 = performance.now();
    let res: Awaited<ReturnType<typeof applyTo>>;
    try {
      res = await applyTo(probe.pid, b.build.bytes);
    } catch (e) {
      const after = await probe.check(check, b.dir);
      return {
        ...base,
        outcome: after.exploit ? 'failed' : 'FALSE SUCCESS',
        detail: `refused by the runtime: ${(e as Error).message.split('\n')[0]}${after.exploit ? '' : ' (yet the exploit is gone: something changed)'}`,
      };
    }
    const applyMs = Math.round(performance.now() - t0);
    const after = await probe.check(check, b.dir);
    if (after.pid !== probe.pid) return { ...base, outcome: 'failed', detail: 'process changed' };
    if (res.state !== 'applied') {
      return {
        ...base,
        outcome: after.exploit ? 'failed' : 'FALSE SUCCESS',
        detail: `${res.state}: ${res.reason ?? ''}`,
      };
    }
    if (after.exploit)
      return {
        ...base,
        outcome: 'FALSE SUCCESS',
        detail: 'applied and verified, but the exploit still works',
        applyMs,
      };
    if (!after.normal)
      return {
        ...base,
        outcome: 'FALSE SUCCESS',
        detail: 'applied and verified, but ordinary behaviour broke',
        applyMs,
      };
    const sel = `${b.selection ? ` (selection: ${b.selection.why})` : ''}${b.realFix ? ` (built against ${b.realFix}: ${a.fixed} is an incomplete fix)` : ''}`;
    return {
      ...base,
      outcome: 'fixed live',
      detail: `${res.modules} module instance(s), same pid${sel}`,
      applyMs,
    };
  } catch (e) {
    return { ...base, outcome: 'failed', detail: (e as Error).message.split('\n')[0] ?? '' };
  }
}

function summary(rows: Row[], nodes: number[]): string[] {
  return nodes.map((n) => {
    const mine = rows.filter((r) => r.node === n);
    const count = (o: Outcome) => mine.filter((r) => r.outcome === o).length;
    // Rounded down, one decimal: 94 of 99 is 94.9 %, not "95 %" (the goal is ≥ 95 %).
    const pct = mine.length
      ? (Math.floor((1000 * count('fixed live')) / mine.length) / 10).toFixed(1)
      : '0.0';
    return `- Node ${n}: **${count('fixed live')} of ${mine.length} fixed live (${pct} %)**, ${count('refused: restart')} refused as needing a restart, ${count('failed')} failed, ${count('INVALID OUTPUT')} invalid output, ${count('FALSE SUCCESS')} falsely reported fixed`;
  });
}

function report(rows: Row[], advisories: Advisory[]): void {
  const nodes = [...new Set(rows.map((r) => r.node))].sort((x, y) => x - y);
  const lines = [
    '# Coverage: real npm security fixes applied live',
    '',
    'Generated by `npm run bench:coverage` (packages/e2e/src/bench/coverage.ts) with the redirect engine (the default).',
    'Each cell is the outcome on that Node version. "fixed live": the exploit was observed in a running process, the',
    'hotpatch was built from the two registry releases and applied in memory, and the exploit was gone with ordinary',
    'behaviour intact, same pid; the fixed release is the control (the check must not fire there). "FALSE SUCCESS" (applied',
    'but the exploit or ordinary behaviour says otherwise) and "INVALID OUTPUT" (the builder produced code that failed its',
    'own check) fail the run. Refusals give their verdict ids (docs/verdicts.md).',
    '',
    'The corpus has three parts: **seed** (the first 19 pairs, which the builder was developed on), **tune** (pairs added',
    'later and looked at while improving the builder) and **holdout** (a quarter of the added pairs, chosen by a hash of',
    'each label before any result was seen). Holdout pairs looked at after a run, to fix what they showed, are named in',
    'BENCHMARKS.md §1 with the result before they were looked at: they no longer count as unseen.',
    '',
    '## Totals',
    '',
  ];
  for (const set of SETS) {
    const mine = rows.filter((r) => r.set === set);
    if (mine.length === 0) continue;
    lines.push(
      `### ${set} (${new Set(mine.map((r) => r.advisory)).size} pairs)`,
      '',
      ...summary(mine, nodes),
      '',
    );
  }
  lines.push(`### all (${advisories.length} pairs)`, '', ...summary(rows, nodes), '');
  const ids = new Map<string, number>();
  for (const r of rows.filter((x) => x.node === nodes[nodes.length - 1]))
    for (const id of r.ids ?? []) ids.set(id, (ids.get(id) ?? 0) + 1);
  if (ids.size) {
    lines.push(
      `Refusals by verdict id (Node ${nodes[nodes.length - 1]}): ${[...ids].map(([id, n]) => `\`${id}\` ${n}`).join(', ')}`,
      '',
    );
  }
  for (const set of SETS) {
    const mine = advisories.filter((a) => corpusSet(a) === set);
    if (mine.length === 0) continue;
    lines.push(
      `## ${set}`,
      '',
      `| advisory | CVE | format | build | ${nodes.map((n) => `Node ${n}`).join(' | ')} | notes |`,
      `|---|---|---|---|${nodes.map(() => '---').join('|')}|---|`,
    );
    for (const a of mine) {
      const rs = rows.filter((r) => r.advisory === label(a));
      const notes = [
        ...new Set([
          ...rs.filter((r) => r.outcome !== 'fixed live').map((r) => r.detail),
          ...rs.flatMap((r) => (/built against [^)]*/.exec(r.detail) ?? []).map(String)),
        ]),
      ].join('; ');
      const sel = selections[label(a)];
      lines.push(
        `| ${label(a)} → ${a.fixed} | ${a.advisory} | ${a.format} | ${a.build} | ${nodes.map((n) => rs.find((r) => r.node === n)?.outcome ?? '-').join(' | ')} | ${[sel ? `selection: ${sel.why}` : '', notes].filter(Boolean).join('; ').replaceAll('|', '\\|')} |`,
      );
    }
    lines.push('');
  }
  lines.push(...oracleSection());
  const md = `${lines.join('\n')}\n`;
  writeFileSync(
    join(cacheDir('bench'), partial ? 'coverage-partial.json' : 'coverage.json'),
    `${JSON.stringify(rows, null, 2)}\n`,
  );
  if (write) writeFileSync(join(repoRoot, 'docs', 'coverage.md'), md);
  console.log(md);
}

/** The behaviour oracle's table from its last full run (`npm run bench:oracle`), when there is one. */
function oracleSection(): string[] {
  const file = join(cacheDir('bench'), 'oracle.json');
  if (!existsSync(file)) return [];
  const reports = JSON.parse(readFileSync(file, 'utf8')) as PairReport[];
  return [
    oracleMarkdown(reports, { divergences: false }).trimEnd(),
    '',
    'Each divergence, with its call and the three results, and what explains it: [oracle.md](oracle.md).',
    '',
  ];
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
