/**
 * Behaviour oracle, comparison side (pure). Per call, three results: A (vulnerable release with
 * the hotpatch applied), B (fixed release) and C (vulnerable release, not patched). A == B is
 * agreement; where A != B, C says whether the fix explains it:
 *   A == B, C != B  the fix working (the hotpatch changed behaviour the way the release did);
 *   A != B, C != B  the fix not applied (A still behaves like the vulnerable release somewhere);
 *   A != B, C == B  a defect introduced by the hotpatch (no release behaves like A).
 * A divergence of A is checked again in a fresh process patched before its first call (A′): when
 * A′ agrees with the fixed release, what differed was state the unpatched code had left in the
 * process before the patch (nanoid 5.0.8's `nanoid('x')` leaves its pool offset NaN for good), not
 * the patch: `pre-patch-state`.
 * A hotpatch keeps the running release's classes and functions, so where a release renamed them
 * (a minifier's `et` → `it`), A shows the running names: A = B up to a consistent renaming whose
 * names C shows too is `names-kept`, not a divergence of behaviour.
 * Calls whose fixed-release result differs between two fresh processes are nondeterministic
 * (random ids, time, addresses) and are counted but not compared. A call on an export that the
 * vulnerable release does not have is an API difference, not a defect.
 */
import type { Call } from './inputs.js';
import { describeCall } from './inputs.js';

export type CallClass =
  | 'agree'
  | 'fix-working'
  | 'fix-not-applied'
  | 'patch-defect'
  | 'pre-patch-state'
  | 'names-kept'
  | 'unstable'
  | 'api-added';

/** Results of one run of the plan, by call index. */
export type Results = string[];

/** The four results of one call, as strings (see canonical.ts). */
export interface CallResults {
  /** Hotpatched run (a second run in its process); absent when nothing was applied. */
  a?: string;
  /** Hotpatched from the start: a fresh process, patched before its first call (compared with b1). */
  aFresh?: string;
  /** Vulnerable, not patched (a first run, in the same process as A). */
  c: string;
  /** Fixed release, first and second run (compared with C and A respectively). */
  b1: string;
  b2: string;
  /** Whether a second fresh process of the fixed release gave the same b1 and b2. */
  stable: boolean;
}

const missing = (s: string) => s.startsWith('{"missing"');

/**
 * C ran as a first run and A as a second: C is compared with the fixed release's first run and
 * A with its second, so a call whose result depends on what earlier calls left in the module
 * compares like with like. Without A (the builder refused), every C != B counts as not applied.
 */
export function classifyCall(r: CallResults): CallClass {
  if (!r.stable) return 'unstable';
  const cOk = r.c === r.b1;
  const aOk = r.a === undefined ? cOk : r.a === r.b2;
  if (aOk) return cOk ? 'agree' : 'fix-working';
  if (r.aFresh !== undefined && r.aFresh === r.b1) return 'pre-patch-state';
  if (r.a !== undefined && namesKept(r.a, r.b2, r.c)) return 'names-kept';
  if (!cOk) return missing(r.c) && (r.a === undefined || missing(r.a)) ? 'api-added' : 'fix-not-applied';
  return 'patch-defect';
}

/** A canonical result with its class and function names blanked, and those names in order. */
function splitNames(s: string): { shape: string; names: string[] } | null {
  let tree: unknown;
  try {
    tree = JSON.parse(s);
  } catch {
    return null; // cut to length (canonical.ts): not compared by shape
  }
  const names: string[] = [];
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const isName =
        typeof x === 'string' &&
        ((k === 'class' && o.$ !== undefined) || (k === 'name' && o.$ === 'function'));
      if (isName) names.push(x);
      out[k] = isName ? '#' : walk(x);
    }
    return out;
  };
  const shape = JSON.stringify(walk(tree));
  return { shape, names };
}

/**
 * A and B have the same shape and differ only in names, renamed consistently (one B name per A
 * name and back), and every A name that differs is one the unpatched release (C) shows too.
 */
export function namesKept(a: string, b: string, c: string): boolean {
  const sa = splitNames(a);
  const sb = splitNames(b);
  const sc = splitNames(c);
  if (!sa || !sb || !sc || sa.shape !== sb.shape || sa.names.length !== sb.names.length) return false;
  const there = new Map<string, string>();
  const back = new Map<string, string>();
  const running = new Set(sc.names);
  let renamed = 0;
  for (const [i, x] of sa.names.entries()) {
    const y = sb.names[i]!;
    if ((there.get(x) ?? y) !== y || (back.get(y) ?? x) !== x) return false;
    there.set(x, y);
    back.set(y, x);
    if (x !== y) {
      if (!running.has(x)) return false;
      renamed++;
    }
  }
  return renamed > 0;
}

export interface Divergence {
  call: string;
  class: CallClass;
  /** Hotpatched (A), fixed (B) and vulnerable (C) results. */
  a: string;
  b: string;
  c: string;
}

export interface PairReport {
  pair: string;
  fixed: string;
  advisory: string;
  set: string;
  node: number;
  /** applied: the hotpatch applied and A was compared; otherwise why there is no A. */
  status: 'compared' | 'refused' | 'apply-failed' | 'error' | 'timeout';
  detail: string;
  entries: { spec: string; how: string; error?: string }[];
  calls: number;
  counts: Record<CallClass, number>;
  /** Every call that is not agreement or nondeterminism, first ones first (bounded). */
  divergences: Divergence[];
  ms: number;
}

const EMPTY: Record<CallClass, number> = {
  agree: 0,
  'fix-working': 0,
  'fix-not-applied': 0,
  'patch-defect': 0,
  'pre-patch-state': 0,
  'names-kept': 0,
  unstable: 0,
  'api-added': 0,
};

export function emptyCounts(): Record<CallClass, number> {
  return { ...EMPTY };
}

/** Compares the runs of a pair call by call (see classifyCall); lists the first divergences of each class. */
export function comparePair(
  plan: Call[],
  runs: {
    a?: Results;
    aFresh?: Results;
    c: Results;
    b1: Results;
    b2: Results;
    b1Again: Results;
    b2Again: Results;
  },
  maxListed = 20,
): { counts: Record<CallClass, number>; divergences: Divergence[] } {
  const counts = emptyCounts();
  const divergences: Divergence[] = [];
  for (const [i, call] of plan.entries()) {
    const r: CallResults = {
      ...(runs.a ? { a: runs.a[i]! } : {}),
      ...(runs.aFresh ? { aFresh: runs.aFresh[i]! } : {}),
      c: runs.c[i]!,
      b1: runs.b1[i]!,
      b2: runs.b2[i]!,
      stable: runs.b1[i] === runs.b1Again[i] && runs.b2[i] === runs.b2Again[i],
    };
    const cls = classifyCall(r);
    counts[cls]++;
    // Up to maxListed of each class, so a few defects are not hidden behind many fix-working calls.
    if (
      cls !== 'agree' &&
      cls !== 'unstable' &&
      divergences.filter((d) => d.class === cls).length < maxListed
    )
      divergences.push({
        call: describeCall(call),
        class: cls,
        a: r.a ?? '(not applied)',
        b: r.a ? r.b2 : r.b1,
        c: r.c,
      });
  }
  return { counts, divergences };
}

const short = (s: string, n = 160) =>
  (s.length > n ? `${s.slice(0, n)}…` : s).replaceAll('|', '\\|').replaceAll('\n', ' ');

const SETS = ['seed', 'tune', 'holdout', 'releases'];

function totals(reports: PairReport[]): string {
  const compared = reports.filter((r) => r.status === 'compared');
  const sum = (k: CallClass) => compared.reduce((n, r) => n + (r.counts[k] ?? 0), 0);
  const pairsWith = (k: CallClass) => compared.filter((r) => (r.counts[k] ?? 0) > 0).length;
  const status = (s: PairReport['status']) => reports.filter((r) => r.status === s).length;
  return [
    `${reports.length} pairs: **${compared.length} compared with the hotpatch applied**, ${status('refused')} refused by the builder,`,
    `${status('apply-failed')} not applied by the runtime, ${status('error') + status('timeout')} error or timeout.`,
    `Compared pairs: ${compared.reduce((n, r) => n + r.calls, 0)} calls; agreement ${sum('agree')}, fix working ${sum('fix-working')}`,
    `(in ${pairsWith('fix-working')} pairs), fix not applied ${sum('fix-not-applied')} (in ${pairsWith('fix-not-applied')} pairs),`,
    `**defects introduced by the hotpatch ${sum('patch-defect')} (in ${pairsWith('patch-defect')} pairs)**, state left before the patch ${sum('pre-patch-state')} (in ${pairsWith('pre-patch-state')} pairs),`,
    `running names kept ${sum('names-kept')} (in ${pairsWith('names-kept')} pairs), nondeterministic ${sum('unstable')},`,
    `API added by the fix ${sum('api-added')}.`,
  ].join(' ');
}

/**
 * The "Behaviour oracle" section: totals (per corpus part too), one row per pair, and, unless
 * `divergences` is false (the short form docs/coverage.md includes), the divergences other than
 * the fix working, each with its call and the three results.
 */
export function oracleMarkdown(
  reports: PairReport[],
  opts: { heading?: string; listed?: number; divergences?: boolean } = {},
): string {
  const heading = opts.heading ?? '## Behaviour oracle';
  const lines = [
    heading,
    '',
    'Generated by `npm run bench:oracle` (packages/e2e/src/bench/oracle.ts). For each pair, the same calls (generated from',
    'the shapes of the exported API, no hand-written exploit) go to the vulnerable release with the hotpatch applied (A),',
    'the fixed release (B) and the vulnerable release before the patch (C). A = B: agreement; A = B ≠ C: the fix working;',
    'A ≠ B, C ≠ B: the fix not applied there; A ≠ B = C: a defect the hotpatch introduced. Calls whose fixed-release result',
    'differs between two fresh processes are nondeterministic and not compared. For a pair the builder refused there is',
    'no A: its "not applied" count is the calls where the fix changes behaviour (C ≠ B). Where the fixed release renamed',
    'classes or functions (a minifier), A keeps the running names: A = B up to that renaming, with names C shows, is',
    '"running names kept", not a divergence.',
    '',
    totals(reports),
    '',
  ];
  for (const set of SETS) {
    const mine = reports.filter((r) => r.set === set);
    if (mine.length) lines.push(`- ${set}: ${totals(mine)}`);
  }
  lines.push(
    '',
    '| pair | set | Node | status | calls | agree | fix working | not applied | **patch defect** | names kept | nondet. | API added | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of reports) {
    const c = r.counts;
    lines.push(
      `| ${r.pair} → ${r.fixed} | ${r.set} | ${r.node} | ${r.status} | ${r.calls} | ${c.agree} | ${c['fix-working']} | ${c['fix-not-applied']} | ${c['patch-defect']} | ${c['names-kept'] ?? 0} | ${c.unstable} | ${c['api-added']} | ${short(r.detail, 200)} |`,
    );
  }
  lines.push('');
  if (opts.divergences === false) return `${lines.join('\n')}\n`;
  const listed = opts.listed ?? 5;
  const unexplained = (r: PairReport) =>
    r.divergences.filter((d) => d.class !== 'fix-working' && d.class !== 'names-kept');
  const section = (title: string, rs: PairReport[], n: number) => {
    if (rs.length === 0) return;
    lines.push(`#${heading}: ${title}`, '');
    for (const r of rs) {
      lines.push(`**${r.pair} → ${r.fixed}** (Node ${r.node}, ${r.status})`, '');
      // Defects first: they are what the oracle is for.
      const ds = [...unexplained(r)].sort(
        (x, y) => Number(y.class === 'patch-defect') - Number(x.class === 'patch-defect'),
      );
      for (const d of ds.slice(0, n))
        lines.push(
          `- ${d.class}: \`${short(d.call, 120)}\` — A: \`${short(d.a)}\`; B: \`${short(d.b)}\`; C: \`${short(d.c)}\``,
        );
      lines.push('');
    }
  };
  section(
    'divergences of applied hotpatches other than the fix working',
    reports.filter((r) => r.status === 'compared' && unexplained(r).length > 0),
    listed,
  );
  section(
    'where the fix shows in pairs without an applied hotpatch (C ≠ B)',
    reports.filter((r) => r.status !== 'compared' && unexplained(r).length > 0),
    2,
  );
  return `${lines.join('\n')}\n`;
}
