import { type BuildResult, buildPatch, resolveSpec } from '@hotpatch/builder';
import { HotpatchError, loadPrivateKey, type Severity, serializeBundle, signBundle } from '@hotpatch/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { checkOutputDir, collect, pad, readTextFile, writeFileAtomic } from './io.js';

interface BuildCliOptions {
  from: string;
  to: string;
  key: string;
  out: string;
  advisory?: string[];
  only?: string[];
  exclude?: string[];
  severity?: Severity;
  title?: string;
  id?: string;
  level?: number;
  supersedes?: string[];
  migrate?: string[];
  migrateRevert?: string[];
  /** commander's negation of --no-load-replay */
  loadReplay?: boolean;
  json?: boolean;
}

/**
 * `--migrate FILE:SCRIPT` (and `--migrate-revert FILE:SCRIPT`): statements a patch author wrote,
 * read from SCRIPT, run once at apply (and at revert) in the package's module FILE.
 */
export function authorMigrations(
  migrate: string[] = [],
  reverts: string[] = [],
): Array<{ file: string; source: string; revert?: string }> {
  const split = (flag: string, v: string) => {
    const at = v.indexOf(':');
    if (at <= 0 || at === v.length - 1)
      throw new HotpatchError(
        'E_USAGE',
        `${flag} ${v}: expected FILE:SCRIPT (a module of the package, a script file)`,
      );
    const file = v.slice(0, at).replace(/^\.\//, '');
    return { file, source: readTextFile(v.slice(at + 1), `${flag} script`) };
  };
  const out = migrate.map((v) => split('--migrate', v));
  for (const v of reverts) {
    const r = split('--migrate-revert', v);
    const m = out.find((x) => x.file === r.file && !('revert' in x));
    if (!m) throw new HotpatchError('E_USAGE', `--migrate-revert ${v}: no --migrate for ${r.file} to revert`);
    (m as { revert?: string }).revert = r.source;
  }
  return out;
}

const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'unknown'];

function parseLevel(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

/** `hotpatch build`: turns a fix (two versions of one package) into a signed hotpatch bundle. */
export function registerBuildCommand(program: Command): void {
  program
    .command('build')
    .summary('Build a signed hotpatch bundle from a fix (two versions of one package)')
    .description(
      'Build a signed hotpatch bundle from two versions of one package. SPEC is a directory or npm:NAME@VERSION ' +
        '(fetched with npm, cached in $HOTPATCH_CACHE or ~/.cache/hotpatch). Exits 3 and writes nothing when the fix ' +
        'needs a restart, 4 when there is nothing to hotpatch.',
    )
    .requiredOption(
      '--from <spec>',
      'the vulnerable baseline that is running (directory or npm:NAME@VERSION)',
    )
    .requiredOption('--to <spec>', 'the fixed version (directory or npm:NAME@VERSION)')
    .requiredOption('--key <keyfile>', 'Ed25519 private key (PKCS8 PEM, from `hotpatch keygen`)')
    .requiredOption('-o, --out <file>', 'bundle file to write')
    .option('--advisory <id>', 'advisory the fix addresses (CVE-… or GHSA-…); repeatable', collect)
    .option(
      '--only <file:function>',
      'patch only this changed function (repeatable); other changes are deferred',
      collect,
    )
    .option(
      '--exclude <file[:name]>',
      'leave out a file, or a changed function or top-level binding of it (repeatable): deferred to the next baseline',
      collect,
    )
    .addOption(new Option('--severity <s>', 'advisory severity').choices(SEVERITIES))
    .option('--title <text>', 'title shown in the catalog and by `inspect`')
    .option('--id <patchid>', 'patch id (default HP-YYYYMMDD-<content hash>)')
    .option('--level <n>', 'hotpatch level over the baseline (cumulative: 1, 2, …)', parseLevel)
    .option(
      '--supersedes <patchid>',
      'earlier hotpatch of the same baseline this one replaces; repeatable',
      collect,
    )
    .option(
      '--migrate <file:script>',
      'author-written statements (from SCRIPT) run once at apply in module FILE of the package; the bundle is marked author-assisted; repeatable',
      collect,
    )
    .option(
      '--migrate-revert <file:script>',
      'statements (from SCRIPT) that undo the --migrate of FILE on revert',
      collect,
    )
    .option(
      '--no-load-replay',
      'never run package code at build time. By default, a file refused only for what its load built (changed-at-load, side-effect-changed) is loaded from both releases, the running one twice, each in a child node process (60 s, 1 GB heap, 300,000 objects; under the permission model where Node allows the inspector there), and its refusals are lifted when both built the same state',
    )
    .option('--json', 'print the result as JSON on stdout')
    .action(async (opts: BuildCliOptions) => {
      // Check everything local before fetching anything.
      const key = loadPrivateKey(readTextFile(opts.key, 'key file', 'E_KEY'), `key file ${opts.key}`);
      const migrate = authorMigrations(opts.migrate, opts.migrateRevert);
      checkOutputDir(opts.out);
      const progress = (msg: string) => process.stderr.write(`${msg}\n`);
      progress(`resolving --from ${opts.from}`);
      const from = await resolveSpec(opts.from, progress);
      progress(`resolving --to ${opts.to}`);
      const to = await resolveSpec(opts.to, progress);
      progress(`diffing ${from.name} ${from.version} → ${to.version}`);
      const result = buildPatch({
        from,
        to,
        ...(opts.advisory ? { advisories: opts.advisory } : {}),
        ...(opts.only ? { only: opts.only } : {}),
        ...(opts.exclude ? { exclude: opts.exclude } : {}),
        ...(opts.severity ? { severity: opts.severity } : {}),
        ...(opts.title !== undefined ? { title: opts.title } : {}),
        ...(opts.id ? { patchId: opts.id } : {}),
        ...(opts.level ? { level: opts.level } : {}),
        ...(opts.supersedes ? { supersedes: opts.supersedes } : {}),
        ...(migrate.length ? { migrate } : {}),
        loadReplay: opts.loadReplay !== false,
      });

      let written: { file: string; patchId: string; version: string; keyId: string } | null = null;
      if (result.payload && !result.refusal) {
        const bundle = signBundle(result.payload, key);
        writeFileAtomic(opts.out, serializeBundle(bundle));
        written = {
          file: opts.out,
          patchId: result.payload.patchId,
          version: result.payload.version,
          keyId: bundle.signature?.keyId ?? '',
        };
      }

      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            {
              from: { spec: from.spec, name: from.name, version: from.version },
              to: { spec: to.spec, name: to.name, version: to.version },
              refusal: result.refusal,
              bundle: written,
              changes: result.changes,
            },
            null,
            2,
          )}\n`,
        );
      } else {
        process.stdout.write(formatChanges(result));
        if (written) {
          process.stdout.write(
            `\nwrote ${written.file}: ${written.patchId}, ${from.name} ${written.version} (fixed release ${to.version}), signed by key ${written.keyId}\n`,
          );
        }
      }

      if (result.refusal === 'restart') {
        const reasons = result.changes
          .filter((c) => c.verdict === 'restart')
          .map((c) => `${c.file}:${c.name}: ${c.reason}`);
        throw new HotpatchError(
          'E_NOT_LIVE',
          `this fix needs a restart (deploy ${to.name}@${to.version}); no bundle written. ${reasons.length} change(s) cannot be applied live: ${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? `; and ${reasons.length - 3} more (see the table)` : ''}`,
          3,
        );
      }
      if (result.refusal === 'nothing') {
        throw new HotpatchError(
          'E_NOT_LIVE',
          `nothing to hotpatch between ${from.version} and ${to.version} (no code change needs applying; no bundle written)`,
          4,
        );
      }
    });
}

const VERDICT_ORDER = { restart: 0, live: 1, deferred: 2, ignored: 3 } as const;

/** A plain-text table of changes, worst verdict first. */
export function formatChanges(result: BuildResult): string {
  const rows = [...result.changes].sort(
    (a, b) => VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict] || a.file.localeCompare(b.file),
  );
  if (rows.length === 0) return 'no changes\n';
  const where = (c: BuildResult['changes'][number]) => {
    const name =
      c.name === c.file || c.name.startsWith(`${c.file} `)
        ? oneLine(c.name, 60)
        : `${c.file}:${oneLine(c.name, 60)}`;
    return c.line ? `${name} (line ${c.line})` : name;
  };
  const wVerdict = Math.max(7, ...rows.map((c) => c.verdict.length));
  const wId = Math.max(2, ...rows.map((c) => c.id.length));
  const wWhere = Math.min(70, Math.max(5, ...rows.map((c) => where(c).length)));
  const lines = [`${pad('VERDICT', wVerdict)}  ${pad('ID', wId)}  ${pad('WHERE', wWhere)}  REASON`];
  for (const c of rows) {
    lines.push(
      `${pad(c.verdict, wVerdict)}  ${pad(c.id, wId)}  ${pad(where(c), wWhere)}  ${oneLine(c.reason, 200)}`,
    );
  }
  const count = (v: string) => rows.filter((c) => c.verdict === v).length;
  lines.push('');
  lines.push(
    `${count('live')} live, ${count('restart')} need a restart, ${count('deferred')} deferred, ${count('ignored')} ignored`,
  );
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
