import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HotpatchError, parseBundle } from '@hotpatch/core';
import {
  type ApplyResult,
  applyTo,
  listProcesses,
  type RuntimeStatus,
  registerPath,
  revertIn,
  status,
} from '@hotpatch/runtime';
import { type Command, InvalidArgumentError } from 'commander';

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
    default:
      return `staged: ${head}: ${r.reason ?? ''}`;
  }
}

export function formatStatus(s: RuntimeStatus): string {
  const lines = [
    `pid ${s.pid}  service ${s.service}  node ${s.node}  engine ${s.engine} (CommonJS), ${s.moduleEngine} (ES modules)  signatures enforced (${s.trustedKeys.length} trusted key${s.trustedKeys.length === 1 ? '' : 's'})`,
  ];
  if (s.patches.length === 0) lines.push('patches: none');
  for (const p of s.patches) {
    lines.push(
      `patch ${p.patchId}  ${p.version}  ${p.target}  ${p.state}${p.appliedAt ? ` at ${p.appliedAt}` : ''}  ${p.advisories.join(',')}${p.reason ? `  (${p.reason})` : ''}`,
    );
  }
  lines.push(`loaded packages: ${s.packages.length}`);
  for (const pkg of [...s.packages].sort((a, b) => a.name.localeCompare(b.name))) {
    const patched = pkg.files.find((f) => f.patchId)?.patchId;
    lines.push(
      `  ${pkg.name}@${pkg.version}  ${pkg.files.length} file(s)${patched ? `  hotpatched by ${patched}` : ''}`,
    );
  }
  return lines.join('\n');
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
        for (const f of opts.trust) {
          try {
            readFileSync(f);
          } catch {
            throw new HotpatchError('E_KEY', `--trust ${f}: cannot read the key file`);
          }
        }
        env.HOTPATCH_TRUSTED_KEYS = opts.trust.map((f) => resolve(f)).join(':');
      }
      if (!env.HOTPATCH_TRUSTED_KEYS) {
        process.stderr.write(
          'hotpatch: warning: no trusted keys (--trust or HOTPATCH_TRUSTED_KEYS): every patch will be refused\n',
        );
      }
      if (opts.service) env.HOTPATCH_SERVICE = opts.service;
      if (opts.engine) env.HOTPATCH_ENGINE = opts.engine;
      env.NODE_OPTIONS = `${env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ` : ''}--import=${pathToFileURL(registerPath).href}`;
      const [cmd, ...args] = command;
      return new Promise<void>((done) => {
        const child = spawn(cmd!, args, { stdio: 'inherit', env });
        const forward = (sig: NodeJS.Signals) => child.kill(sig);
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward);
        child.on('error', (e) => {
          process.stderr.write(`hotpatch: cannot start ${cmd}: ${e.message}\n`);
          process.exitCode = 2;
          done();
        });
        child.on('exit', (code, signal) => {
          process.exitCode = code ?? (signal ? 128 + 15 : 1);
          done();
        });
      });
    });

  program
    .command('ps')
    .description('list processes on this host running the hotpatch runtime')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows: RuntimeStatus[] = [];
      for (const pid of listProcesses()) {
        try {
          rows.push(await status(pid));
        } catch {
          // exited between listing and asking
        }
      }
      print(Boolean(opts.json), rows, () =>
        rows.length === 0
          ? 'no processes are running the hotpatch runtime'
          : [
              'PID\tNODE\tENGINE\tSERVICE\tPATCHES',
              ...rows.map(
                (s) =>
                  `${s.pid}\t${s.node}\t${s.engine}\t${s.service}\t${s.patches.map((p) => `${p.patchId}:${p.state}`).join(',') || '-'}`,
              ),
            ].join('\n'),
      );
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
    .description('revert a hotpatch in a running process, restoring exactly the code before')
    .argument('<patchId>', 'patch id, e.g. HP-20261126-e22904')
    .requiredOption('--pid <pid>', 'process id', pidArg)
    .option('--json', 'machine-readable output')
    .action(async (patchId: string, opts: { pid: number; json?: boolean }) => {
      const result = await revertIn(opts.pid, patchId);
      print(
        Boolean(opts.json),
        result,
        () =>
          `reverted ${result.patchId} on ${result.target}: ${result.modules} module instance(s) back to the baseline`,
      );
    });

  program
    .command('status')
    .description('show a process: engine, Node version, patches (applied, pending and why), loaded packages')
    .requiredOption('--pid <pid>', 'process id', pidArg)
    .option('--json', 'machine-readable output (includes every loaded file with its sha256)')
    .action(async (opts: { pid: number; json?: boolean }) => {
      const s = await status(opts.pid);
      print(Boolean(opts.json), s, () => formatStatus(s));
    });
}
