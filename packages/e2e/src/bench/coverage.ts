/**
 * Coverage benchmark (issue 6): every pair in corpus/advisories.tsv, on Node 20, 22,
 * 24 and 26. For each: a process under the runtime loads the vulnerable version and shows the
 * exploit; the builder makes the hotpatch from the two registry versions; it is applied live;
 * the exploit must be gone and ordinary behaviour intact, same pid. A success report while the
 * exploit still works fails the whole run.
 *   node packages/e2e/dist/bench/coverage.js [--node 20,26] [--only name@version,...]
 * Writes .cache/bench/coverage.json and docs/coverage.md.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo } from '@hotpatch/runtime';
import {
  type Advisory,
  cacheDir,
  checkFile,
  label,
  type PreparedCase,
  prepareCase,
  readAdvisories,
  readSelections,
} from '../testing/advisories.js';
import { nodeBinaries, repoRoot } from '../testing/nodes.js';
import { Probe } from '../testing/processes.js';

type Outcome = 'fixed live' | 'refused: restart' | 'failed' | 'FALSE SUCCESS';
interface Row {
  advisory: string;
  cve: string;
  node: number;
  outcome: Outcome;
  detail: string;
  applyMs?: number;
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const wantNodes = arg('--node')?.split(',').map(Number);
const wantOnly = arg('--only')?.split(',');

const selections = readSelections();

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'hotpatch-coverage-'));
  process.env.HOTPATCH_HOME = home;
  const key = generateSigningKey();
  const keyFile = join(home, 'k.pub');
  writeFileSync(keyFile, key.publicKeyPem);

  const advisories = readAdvisories().filter((a) => !wantOnly || wantOnly.includes(label(a)));
  const builds = new Map<string, PreparedCase>();
  for (const a of advisories) {
    process.stderr.write(`building ${label(a)}\n`);
    builds.set(label(a), await prepareCase(a, key, selections));
  }

  const rows: Row[] = [];
  for (const node of nodeBinaries().filter((n) => !wantNodes || wantNodes.includes(n.major))) {
    const probe = new Probe(node.bin, {
      ...process.env,
      HOTPATCH_HOME: home,
      HOTPATCH_TRUSTED_KEYS: keyFile,
      HOTPATCH_SERVICE: `coverage-${node.major}`,
    });
    await probe.ready;
    for (const a of advisories) {
      const row = await runOne(a, node.major, probe, builds.get(label(a))!);
      rows.push(row);
      process.stderr.write(
        `node ${node.major}  ${label(a).padEnd(24)} ${row.outcome.padEnd(17)} ${row.detail}\n`,
      );
    }
    await probe.stop();
  }
  report(rows, advisories);
  if (rows.some((r) => r.outcome === 'FALSE SUCCESS')) {
    console.error('FAILED: a hotpatch reported success while the exploit still works');
    process.exitCode = 1;
  }
}

async function runOne(a: Advisory, node: number, probe: Probe, b: PreparedCase): Promise<Row> {
  const base = { advisory: label(a), cve: a.advisory, node };
  const check = checkFile(a);
  if (!existsSync(check)) return { ...base, outcome: 'failed', detail: 'no exploit check' };
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
    if (!b.build.result.payload) {
      const why = b.build.result.changes
        .filter((c) => c.verdict === 'restart')
        .map((c) => `${c.file}: ${c.name}: ${c.reason}`);
      const shown = why.length > 2 ? [...why.slice(0, 2), `and ${why.length - 2} more`] : why;
      return {
        ...base,
        outcome: 'refused: restart',
        detail: shown.join('; ') || (b.build.result.refusal ?? ''),
      };
    }
    const t0 = performance.now();
    const res = await applyTo(probe.pid, b.build.bytes);
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
      return { ...base, outcome: 'failed', detail: 'exploit gone but ordinary behaviour broke', applyMs };
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

function report(rows: Row[], advisories: Advisory[]): void {
  const nodes = [...new Set(rows.map((r) => r.node))].sort((x, y) => x - y);
  const lines = [
    '# Coverage: real npm security fixes applied live',
    '',
    'Generated by `npm run bench:coverage` (packages/e2e/src/bench/coverage.ts). Each cell: the outcome on that Node version;',
    '"fixed live" means the exploit was observed in a running process, the hotpatch was applied in memory, and the exploit',
    'was gone with ordinary behaviour intact, same pid.',
    '',
    `| advisory | CVE | ${nodes.map((n) => `Node ${n}`).join(' | ')} | notes |`,
    `|---|---|${nodes.map(() => '---').join('|')}|---|`,
  ];
  for (const a of advisories) {
    const mine = rows.filter((r) => r.advisory === label(a));
    const notes = [
      ...new Set([
        ...mine.filter((r) => r.outcome !== 'fixed live').map((r) => r.detail),
        ...mine.flatMap((r) => (/built against [^)]*/.exec(r.detail) ?? []).map(String)),
      ]),
    ].join('; ');
    const sel = selections[label(a)];
    lines.push(
      `| ${label(a)} → ${a.fixed} | ${a.advisory} | ${nodes.map((n) => mine.find((r) => r.node === n)?.outcome ?? '-').join(' | ')} | ${[sel ? `selection: ${sel.why}` : '', notes].filter(Boolean).join('; ').replaceAll('|', '\\|')} |`,
    );
  }
  lines.push('');
  for (const n of nodes) {
    const mine = rows.filter((r) => r.node === n);
    const count = (o: Outcome) => mine.filter((r) => r.outcome === o).length;
    lines.push(
      `- Node ${n}: ${count('fixed live')} fixed live, ${count('refused: restart')} refused as needing a restart, ${count('failed')} failed, ${count('FALSE SUCCESS')} falsely reported fixed (of ${mine.length})`,
    );
  }
  const md = `${lines.join('\n')}\n`;
  writeFileSync(join(repoRoot, 'docs', 'coverage.md'), md);
  writeFileSync(join(cacheDir('bench'), 'coverage.json'), `${JSON.stringify(rows, null, 2)}\n`);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
