/**
 * `hotpatch vex`: VEX documents telling scanners what runs in memory. `--pid P` asks one local
 * process (through its control socket, as `status` does); `--server [URL]` asks the control
 * plane for the fleet (`GET /v1/vex`). Bundles given with `--bundle` name hotpatches that are
 * known but not applied, so that an unpatched process is `affected` with "hotpatch available".
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { HotpatchError, parseBundle, targetLabel } from '@hotpatch/core';
import { status } from '@hotpatch/runtime';
import { cycloneDxVex, openVex, type VexPatch, vexStatements } from '@hotpatch/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { api } from './fleet.js';
import { checkOutputDir, collect, writeFileAtomic } from './io.js';

const VERSION = '0.1.0';

function pidArg(value: string): number {
  const pid = Number(value);
  if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError('expected a process id');
  return pid;
}

function catalogFrom(files: readonly string[]): VexPatch[] {
  return files.map((file) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new HotpatchError(
        'E_IO',
        `cannot read bundle ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const p = parseBundle(bytes).payload;
    return {
      patchId: p.patchId,
      version: p.version,
      target: targetLabel(p.target),
      advisories: p.advisories,
      fixedIn: p.fixedIn,
    };
  });
}

interface VexOptions {
  pid?: number;
  server?: string | true;
  token?: string;
  bundle?: string[];
  format: 'openvex' | 'cyclonedx';
  device?: string;
  service?: string;
  out?: string;
  product?: string;
}

async function localDocument(opts: VexOptions & { pid: number }): Promise<unknown> {
  const s = await status(opts.pid);
  const statements = vexStatements(catalogFrom(opts.bundle ?? []), [
    {
      name: `${hostname()}/${s.service} pid ${s.pid}`,
      pid: s.pid,
      startedAt: s.startedAt,
      hotpatchable: s.signatureEnforcement,
      packages: s.packages,
      patches: s.patches,
    },
  ]);
  const meta = {
    author: `hotpatch vex (${hostname()})`,
    scope: `pid ${s.pid}`,
    now: new Date(),
    toolVersion: VERSION,
    ...(opts.product ? { product: opts.product } : {}),
  };
  if (opts.format === 'cyclonedx') return cycloneDxVex(statements, meta);
  if (statements.length === 0)
    throw new HotpatchError(
      'E_NOT_FOUND',
      `nothing to state for pid ${s.pid}: it loads no component a known hotpatch was built for (pass the hotpatches with --bundle FILE)`,
      4,
    );
  return openVex(statements, meta);
}

async function serverDocument(opts: VexOptions): Promise<unknown> {
  const q = new URLSearchParams({ format: opts.format });
  if (opts.device) q.set('device', opts.device);
  if (opts.service) q.set('service', opts.service);
  if (opts.product) q.set('product', opts.product);
  const conn = { server: typeof opts.server === 'string' ? opts.server : undefined, token: opts.token };
  return api(conn, 'GET', `/v1/vex?${q}`);
}

export function registerVexCommand(program: Command): void {
  program
    .command('vex')
    .description(
      'write a VEX document (OpenVEX 0.2.0 or CycloneDX 1.5) saying, per advisory and loaded component, whether the fix runs in memory (fixed) or not (affected, with the action): for one local process (--pid) or the fleet (--server); feed it to Trivy or Grype with --vex',
    )
    .option('--pid <pid>', 'a local process running the runtime', pidArg)
    .option('--server [url]', 'ask the control plane (default $HOTPATCH_SERVER) for its connected devices')
    .option(
      '--token <token>',
      'API token for --server (default $HOTPATCH_TOKEN or the file $HOTPATCH_TOKEN_FILE)',
    )
    .option(
      '--bundle <file>',
      'with --pid: a known hotpatch (repeatable); its advisories are stated',
      collect,
    )
    .option('--device <id>', 'with --server: one device')
    .option('--service <name>', 'with --server: one service')
    .addOption(
      new Option('--format <format>', 'document format').choices(['openvex', 'cyclonedx']).default('openvex'),
    )
    .option(
      '--product <id>',
      'OpenVEX: the scanned product (e.g. pkg:oci/web@sha256:... for Grype image scans); packages become its subcomponents',
    )
    .option('--out <file>', 'write the document here (atomically) instead of stdout')
    .action(async (opts: VexOptions) => {
      if ((opts.pid === undefined) === (opts.server === undefined))
        throw new HotpatchError(
          'E_USAGE',
          'give exactly one of --pid PID (a local process) or --server [URL] (the fleet)',
        );
      if (opts.pid !== undefined && (opts.device || opts.service))
        throw new HotpatchError('E_USAGE', '--device and --service go with --server');
      if (opts.server !== undefined && opts.bundle)
        throw new HotpatchError(
          'E_USAGE',
          '--bundle goes with --pid (the server knows its published hotpatches)',
        );
      if (opts.out) checkOutputDir(opts.out);
      const doc =
        opts.pid !== undefined ? await localDocument({ ...opts, pid: opts.pid }) : await serverDocument(opts);
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (opts.out) writeFileAtomic(opts.out, text);
      else process.stdout.write(text);
    });
}
