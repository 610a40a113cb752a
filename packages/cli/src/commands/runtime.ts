import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HotpatchError, loadPublicKey, parseBundle } from '@hotpatch/core';
import {
  type ApplyResult,
  applyTo,
  ensurePrivateDir,
  launcherFile,
  listProcesses,
  preloadPath,
  type RuntimeStatus,
  revertIn,
  socketDir,
  status,
} from '@hotpatch/runtime';
import { type Command, InvalidArgumentError } from 'commander';

/**
 * `--require` of the runtime's preload, as NODE_OPTIONS reads it (a path with a space, a quote or
 * a backslash in double quotes, those escaped). A CommonJS preload: with --import, Node 20 runs a
 * CommonJS service's main script through its ES module loader too (BENCHMARKS.md §3).
 */
export function requireOption(path: string): string {
  return /[\s"\\]/.test(path) ? `--require="${path.replace(/["\\]/g, '\\$&')}"` : `--require=${path}`;
}

function pidArg(value: string): number {
  const pid = Number(value);
  if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError('expected a process id');
  return pid;
}

function msArg(value: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('expected milliseconds');
  return ms;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

function describeApply(r: ApplyResult): string {
  const head = `${r.patchId} (${r.version}) on ${r.target}`;
  switch (r.state) {
    case 'applied':
      return `applied and verified: ${head}, ${r.modules} module instance(s), no restart`;
    case 'already-applied':
      return `already applied and verified: ${head}`;
    case 'pending':
      return `pending: ${head}: ${r.reason ?? ''}`;
    case 'failed':
      return `failed: ${head}: ${r.reason ?? ''}`;
    default:
      return `staged: ${head}: ${r.reason ?? ''}`;
  }
}

export function formatStatus(s: RuntimeStatus): string {
  const lines = [
    `pid ${s.pid}  service ${s.service}  node ${s.node}  engine ${s.engine} (CommonJS), ${s.moduleEngine} (ES modules)  signatures enforced (${s.trustedKeys.length} trusted key${s.trustedKeys.length === 1 ? '' : 's'})`,
  ];
  if (s.engineReason) lines.push(`engine: ${s.engineReason}`);
  if (s.cwd) lines.push(`cwd ${s.cwd}  started ${s.startedAt}  command ${(s.argv ?? []).join(' ')}`);
  for (const problem of s.problems ?? []) lines.push(`problem: ${problem}`);
  if (s.patches.length === 0) lines.push('patches: none');
  for (const p of s.patches) {
    lines.push(
      `patch ${p.patchId}  ${p.version}  ${p.target}  ${p.state}${p.appliedAt ? ` at ${p.appliedAt}` : ''}  ${p.advisories.join(',')}${p.reason ? `  (${p.reason})` : ''}`,
    );
  }
  if (s.counters)
    lines.push(
      `since start: ${s.counters.applies} applied, ${s.counters.reverts} reverted, ${s.counters.failures} failed`,
    );
  lines.push(`loaded packages: ${s.packages.length}`);
  for (const pkg of [...s.packages].sort((a, b) => a.name.localeCompare(b.name))) {
    const patched = pkg.files.find((f) => f.patchId)?.patchId;
    lines.push(
      `  ${pkg.name}@${pkg.version}  ${pkg.files.length} file(s)${patched ? `  hotpatched by ${patched}` : ''}`,
    );
  }
  return lines.join('\n');
}

/** Status of every local process running the runtime (those that exit meanwhile are left out). */
async function allStatuses(): Promise<RuntimeStatus[]> {
  const rows: RuntimeStatus[] = [];
  for (const pid of await listProcesses()) {
    try {
      rows.push(await status(pid));
    } catch {
      // exited between listing and asking
    }
  }
  return rows;
}

/** One line per process for `ps`: enough to tell apart two services started from one script. */
export function formatProcesses(rows: RuntimeStatus[]): string {
  if (rows.length === 0) return 'no processes are running the hotpatch runtime';
  return [
    'PID\tSERVICE\tSTARTED\tNODE\tENGINE\tPATCHES\tCWD\tCOMMAND',
    ...rows.map((s) =>
      [
        s.pid,
        s.service,
        s.startedAt,
        s.node,
        s.engine,
        s.patches.map((p) => `${p.patchId}:${p.state}`).join(',') || '-',
        s.cwd ?? '?',
        (s.argv ?? []).join(' ') || '?',
      ].join('\t'),
    ),
  ].join('\n');
}

function checkTrustedKey(file: string): void {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HotpatchError(
      'E_KEY',
      `--trust ${file}: cannot read the key file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    loadPublicKey(pem, `--trust ${file}`);
  } catch (e) {
    throw new HotpatchError('E_KEY', (e as Error).message);
  }
}

/** Leaves a note beside the sockets so that `apply --pid <launcher>` can name the app's pid. */
function noteLauncher(child: number): () => void {
  const file = launcherFile(process.pid);
  try {
    ensurePrivateDir(socketDir());
    writeFileSync(file, JSON.stringify({ child }), { mode: 0o600 });
  } catch {
    return () => {}; // only a nicer message is lost
  }
  return () => rmSync(file, { force: true });
}

/** `run`, `ps`, `apply`, `revert`, `status`: local control of processes running the runtime. */
export function registerRuntimeCommands(program: Command): void {
  program
    .command('run')
    .description('start a command with the hotpatch runtime preloaded (e.g. hotpatch run -- node app.js)')
    .option('--trust <pubfile>', 'trusted public key (repeatable); default: $HOTPATCH_TRUSTED_KEYS', collect)
    .option('--service <name>', 'service name this process belongs to (default: its main script)')
    .option('--engine <engine>', 'force an engine: liveedit (Node <= 25) or redirect (any Node)')
    .argument('<command...>', 'the command to run, after --')
    .action((command: string[], opts: { trust?: string[]; service?: string; engine?: string }) => {
      if (opts.engine && opts.engine !== 'liveedit' && opts.engine !== 'redirect') {
        throw new HotpatchError('E_USAGE', `--engine ${opts.engine}: expected liveedit or redirect`);
      }
      const env = { ...process.env };
      if (opts.trust?.length) {
        for (const f of opts.trust) checkTrustedKey(f);
        env.HOTPATCH_TRUSTED_KEYS = opts.trust.map((f) => resolve(f)).join(':');
      }
      if (!env.HOTPATCH_TRUSTED_KEYS) {
        process.stderr.write(
          'hotpatch: warning: no trusted keys (--trust or HOTPATCH_TRUSTED_KEYS): every patch will be refused\n',
        );
      }
      if (opts.service) env.HOTPATCH_SERVICE = opts.service;
      if (opts.engine) env.HOTPATCH_ENGINE = opts.engine;
      env.NODE_OPTIONS = `${env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ` : ''}${requireOption(preloadPath)}`;
      const [cmd, ...args] = command;
      return new Promise<void>((done) => {
        const child = spawn(cmd!, args, { stdio: 'inherit', env });
        const forget = child.pid ? noteLauncher(child.pid) : () => {};
        process.once('exit', forget);
        const forward = (sig: NodeJS.Signals) => child.kill(sig);
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward);
        child.on('error', (e) => {
          process.stderr.write(`hotpatch: cannot start ${cmd}: ${e.message}\n`);
          process.exitCode = 2;
          done();
        });
        child.on('exit', (code, signal) => {
          forget();
          process.exitCode = code ?? (signal ? 128 + 15 : 1);
          done();
        });
      });
    });

  program
    .command('ps')
    .description(
      'list processes on this host running the hotpatch runtime (service, start time, cwd, command)',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows = await allStatuses();
      print(Boolean(opts.json), rows, () => formatProcesses(rows));
    });

  program
    .command('apply')
    .description('apply a signed hotpatch to a running process; exits 0 only when applied and verified')
    .argument('<file>', 'bundle file (.hpatch)')
    .requiredOption('--pid <pid>', 'process id', pidArg)
    .option('--timeout <ms>', 'how long to retry while a changed function is running', msArg, 10_000)
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { pid: number; timeout: number; json?: boolean }) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        throw new HotpatchError('E_IO', `${file}: cannot read the bundle`);
      }
      parseBundle(bytes, file); // a corrupt file is reported here, before the process is asked
      const result = await applyTo(opts.pid, bytes, opts.timeout);
      print(Boolean(opts.json), result, () => describeApply(result));
      if (result.state !== 'applied' && result.state !== 'already-applied') process.exitCode = 3;
    });

  program
    .command('revert')
    .description('revert a hotpatch in a running process, restoring exactly the code before, all or nothing')
    .argument('<patchId>', 'patch id, e.g. HP-20261126-e22904')
    .requiredOption('--pid <pid>', 'process id', pidArg)
    .option('--timeout <ms>', 'how long to retry while a changed function is running', msArg, 10_000)
    .option('--json', 'machine-readable output')
    .action(async (patchId: string, opts: { pid: number; timeout: number; json?: boolean }) => {
      const result = await revertIn(opts.pid, patchId, opts.timeout);
      print(Boolean(opts.json), result, () =>
        result.state === 'reverted'
          ? `reverted and verified: ${result.patchId} on ${result.target}: every module instance back to the baseline`
          : `${result.state}: ${result.patchId} on ${result.target}: ${result.reason ?? ''} (nothing changed; retried, see hotpatch status --pid ${opts.pid})`,
      );
      if (result.state !== 'reverted') process.exitCode = 3;
    });

  program
    .command('status')
    .description(
      'show processes running the runtime: engine, Node version, patches (applied, pending and why), loaded packages; every local one without --pid',
    )
    .option('--pid <pid>', 'only this process', pidArg)
    .option('--json', 'machine-readable output (includes every loaded file with its sha256)')
    .action(async (opts: { pid?: number; json?: boolean }) => {
      if (opts.pid !== undefined) {
        const s = await status(opts.pid);
        print(Boolean(opts.json), s, () => formatStatus(s));
        return;
      }
      const rows = await allStatuses();
      print(Boolean(opts.json), rows, () =>
        rows.length === 0
          ? 'no processes are running the hotpatch runtime'
          : rows.map(formatStatus).join('\n\n'),
      );
    });
}
