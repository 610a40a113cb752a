/**
 * Fleet commands: the control plane (`hotpatch server`) and its API from the command line
 * (publish, devices, policies, deploy, revert-deployment, deployments, report, tokens).
 * Server URL and token come from --server/--token or HOTPATCH_SERVER/HOTPATCH_TOKEN
 * (HOTPATCH_TOKEN_FILE names a file holding it, e.g. <data dir>/admin-token).
 */
import { readFileSync } from 'node:fs';
import { HotpatchError } from '@hotpatch/core';
import { type Command, InvalidArgumentError, Option } from 'commander';

interface ConnOptions {
  server?: string;
  token?: string;
}

/** A refusal or failure reported by the server (4xx/5xx) or an unreachable server. */
export class FleetRequestError extends HotpatchError {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(status === 0 ? 'E_IO' : 'E_USAGE', message, status >= 500 ? 1 : 2);
    this.name = 'FleetRequestError';
    this.status = status;
    this.field = field;
  }
}

type Json = Record<string, unknown>;

function conn(opts: ConnOptions): { server: string; token: string } {
  // HOTPATCH_SERVER may list several replicas (the agent fails over): the API is the same on each.
  const server = opts.server ?? process.env.HOTPATCH_SERVER?.split(',')[0]?.trim();
  if (!server) throw new HotpatchError('E_USAGE', 'no server: pass --server URL or set HOTPATCH_SERVER');
  let token = opts.token ?? process.env.HOTPATCH_TOKEN;
  if (!token && process.env.HOTPATCH_TOKEN_FILE) {
    try {
      token = readFileSync(process.env.HOTPATCH_TOKEN_FILE, 'utf8').trim();
    } catch {
      throw new HotpatchError(
        'E_IO',
        `HOTPATCH_TOKEN_FILE ${process.env.HOTPATCH_TOKEN_FILE} cannot be read`,
      );
    }
  }
  if (!token)
    throw new HotpatchError(
      'E_USAGE',
      'no API token: pass --token or set HOTPATCH_TOKEN (the first admin token is in <data dir>/admin-token)',
    );
  return { server: server.replace(/\/+$/, ''), token };
}

export async function api(
  opts: ConnOptions,
  method: string,
  path: string,
  body?: unknown,
  raw?: string,
): Promise<Json> {
  const { server, token } = conn(opts);
  let res: Response;
  try {
    res = await fetch(`${server}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FleetRequestError(
      0,
      `server ${server} unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
    );
  }
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const err = (json.error ?? {}) as { code?: string; message?: string; field?: string };
    const where = err.field ? ` (${err.field})` : '';
    throw new FleetRequestError(
      res.status,
      `server refused: ${err.code ?? `HTTP ${res.status}`}: ${err.message ?? text.slice(0, 200)}${where}`,
      err.field,
    );
  }
  return json;
}

function withConn(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'server URL (default $HOTPATCH_SERVER)')
    .option('--token <token>', 'API token (default $HOTPATCH_TOKEN, or the file $HOTPATCH_TOKEN_FILE)');
}

function print(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

function labelArg(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected KEY=VALUE');
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
}

/** --ring NAME[:KEY=VALUE,...][:DAYS], e.g. canary:ring=canary:0 or broad::3 */
export function parseRing(
  value: string,
  prev: Array<{ name: string; selector: Record<string, string>; deferralDays: number }> = [],
) {
  const [name, sel = '', days = '0'] = value.split(':');
  if (!name) throw new InvalidArgumentError('expected NAME[:KEY=VALUE,...][:DEFERRAL_DAYS]');
  const selector: Record<string, string> = {};
  for (const pair of sel.split(',').filter(Boolean)) Object.assign(selector, labelArg(pair));
  const deferralDays = Number(days);
  if (!Number.isFinite(deferralDays) || deferralDays < 0)
    throw new InvalidArgumentError(`ring ${name}: deferral days must be a number >= 0`);
  return [...prev, { name, selector, deferralDays }];
}

interface DeploymentView {
  deployment: {
    id: string;
    state: string;
    policy: string | null;
    patchId: string;
    expedite: boolean;
    revertReason: string | null;
  };
  summary: { total: number; counts: Record<string, number>; settled: boolean };
  devices: Array<{
    device: string;
    state: string;
    scheduledFor?: string | null;
    ring: string | null;
    reason: string | null;
    action: string | null;
  }>;
  fingerprint?: string;
}

function progressLine(v: DeploymentView): string {
  const c = Object.entries(v.summary.counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `${v.deployment.id} ${v.deployment.state}: ${v.summary.total} devices${c ? ` (${c})` : ''}`;
}

function deploymentText(v: DeploymentView): string {
  const rows = [['DEVICE', 'RING', 'STATE', 'DETAIL']];
  for (const d of v.devices)
    rows.push([
      d.device,
      d.ring ?? '-',
      d.state,
      [d.reason, d.action ? `-> ${d.action}` : null].filter(Boolean).join(' '),
    ]);
  return `${progressLine(v)}\npatch ${v.deployment.patchId}, policy ${v.deployment.policy}${v.deployment.revertReason ? `, reverted: ${v.deployment.revertReason}` : ''}\n${table(rows)}`;
}

const SETTLED = new Set(['not-applicable', 'ineligible', 'applied', 'failed', 'reverted']);

/** `deploy --wait` stops when every device settled or waits for a later ring (or a paused policy). */
function nothingDueNow(v: DeploymentView): boolean {
  const now = Date.now();
  return v.devices.every(
    (d) =>
      SETTLED.has(d.state) ||
      (d.state === 'scheduled' &&
        ((d.scheduledFor && Date.parse(d.scheduledFor) > now) || d.reason === 'policy paused')),
  );
}

/** Follows a deployment through the server's long poll until every device settled (or timeout). */
async function follow(
  opts: ConnOptions,
  id: string,
  timeoutS: number,
  done: (v: DeploymentView) => boolean,
): Promise<DeploymentView> {
  const end = Date.now() + timeoutS * 1000;
  const tty = process.stderr.isTTY;
  let since: string | undefined;
  let last = '';
  for (;;) {
    const q =
      since === undefined
        ? ''
        : `?since=${encodeURIComponent(since)}&timeoutMs=${Math.max(0, Math.min(10_000, end - Date.now()))}`;
    const v = (await api(
      opts,
      'GET',
      `/v1/deployments/${encodeURIComponent(id)}/wait${q}`,
    )) as unknown as DeploymentView;
    const line = progressLine(v);
    if (line !== last) {
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (done(v)) {
      if (tty) process.stderr.write('\n');
      return v;
    }
    if (Date.now() >= end) {
      if (tty) process.stderr.write('\n');
      throw new HotpatchError('E_PROCESS', `still waiting after ${timeoutS}s: ${line}`, 3);
    }
    since = v.fingerprint;
  }
}

/** Registers the fleet commands on the `hotpatch` program. */
export function registerFleetCommands(program: Command): void {
  program
    .command('server')
    .summary('Run the control plane (HTTP API + device WebSocket)')
    .description(
      'Run the Hotpatch control plane. Storage is embedded (PGlite under --data) unless --database-url names a PostgreSQL ' +
        'database; several servers on one PostgreSQL work as replicas. The first start writes an admin API token and a device ' +
        'enrollment token into the data directory. Stops cleanly on SIGTERM.',
    )
    .option('--data <dir>', 'data directory', process.env.HOTPATCH_DATA ?? './hotpatch-data')
    .option(
      '--database-url <url>',
      'PostgreSQL URL (default: embedded PGlite in --data)',
      process.env.HOTPATCH_DATABASE_URL,
    )
    .option('--database-schema <name>', 'PostgreSQL schema')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', intArg, 4242)
    .option('--cert <file>', 'TLS certificate (PEM): serve HTTPS')
    .option('--key <file>', 'TLS private key (PEM)')
    .option(
      '--trusted-key <file>',
      'publisher public key bundles must be signed with; repeatable',
      (v: string, p: string[] = []) => [...p, v],
    )
    .addOption(
      new Option('--baseline-months <list>', 'baseline months, e.g. 1,4,7,10').argParser((v) =>
        v.split(',').map((m) => intArg(m.trim())),
      ),
    )
    .option('--log-level <level>', 'log level (info, warn, error, silent)', 'info')
    .action(
      async (o: {
        data: string;
        databaseUrl?: string;
        databaseSchema?: string;
        host: string;
        port: number;
        cert?: string;
        key?: string;
        trustedKey?: string[];
        baselineMonths?: number[];
        logLevel: string;
      }) => {
        if (Boolean(o.cert) !== Boolean(o.key))
          throw new HotpatchError('E_USAGE', '--cert and --key go together');
        const trusted = o.trustedKey ?? (process.env.HOTPATCH_TRUSTED_KEYS ?? '').split(':').filter(Boolean);
        if (trusted.length === 0)
          process.stderr.write('hotpatch server: no --trusted-key: every publish will be refused\n');
        const { runServer } = await import('@hotpatch/server');
        await runServer({
          dataDir: o.data,
          ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
          ...(o.databaseSchema ? { databaseSchema: o.databaseSchema } : {}),
          host: o.host,
          port: o.port,
          ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
          trustedKeys: trusted,
          ...(o.baselineMonths ? { calendar: { baselineMonths: o.baselineMonths } } : {}),
          logger: o.logLevel === 'silent' ? false : { level: o.logLevel },
        });
        await new Promise(() => {}); // runs until a signal
      },
    );

  withConn(
    program
      .command('publish')
      .argument('<file>', 'signed hotpatch bundle')
      .summary('Publish a signed security hotpatch to the catalog'),
  )
    .description(
      'Publish a signed hotpatch bundle. The server verifies the signature against its trusted keys and accepts only security fixes with an advisory.',
    )
    .option('--advisory-published <date>', 'when the advisory was published (ISO date), for exposure reports')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: ConnOptions & { json?: boolean; advisoryPublished?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new HotpatchError('E_IO', `${file} cannot be read`);
      }
      const q = o.advisoryPublished
        ? `?advisoryPublishedAt=${encodeURIComponent(new Date(o.advisoryPublished).toISOString())}`
        : '';
      const r = await api(o, 'POST', `/v1/bundles${q}`, undefined, text);
      const b = r.bundle as {
        patchId: string;
        version: string;
        targetName: string;
        targetBaseline: string;
        advisories: string[];
      };
      print(
        o.json,
        r,
        () =>
          `${r.created ? 'published' : 'already published'}: ${b.patchId} ${b.version} (${b.targetName}@${b.targetBaseline}; ${b.advisories.join(', ')})`,
      );
    });

  withConn(
    program.command('devices').summary('List enrolled devices: policy, ring, eligibility, patch level'),
  )
    .option('--json', 'machine-readable output')
    .action(async (o: ConnOptions & { json?: boolean }) => {
      const r = await api(o, 'GET', '/v1/devices');
      type D = {
        host: string;
        service: string;
        policy: string | null;
        ring: string | null;
        node: string | null;
        engine: string | null;
        connected: boolean;
        eligible: boolean;
        reasons: Array<{ code: string }>;
        components: Array<{ name: string; baseline: string; version: string }>;
        revoked: boolean;
      };
      const ds = r.devices as D[];
      print(o.json, r, () =>
        table([
          ['DEVICE', 'POLICY/RING', 'NODE', 'ENGINE', 'STATE', 'ELIGIBLE', 'COMPONENTS'],
          ...ds.map((d) => [
            `${d.host}/${d.service}`,
            `${d.policy ?? '-'}/${d.ring ?? '-'}`,
            d.node ?? '-',
            d.engine ?? '-',
            d.revoked ? 'revoked' : d.connected ? 'connected' : 'offline',
            d.eligible ? 'yes' : `no: ${d.reasons.map((x) => x.code).join(',')}`,
            d.components
              .map((c) => (c.version === c.baseline ? `${c.name}@${c.baseline}` : `${c.name}@${c.version}`))
              .join(' ') || '-',
          ]),
        ]),
      );
    });

  const policies = program
    .command('policies')
    .summary('Manage policies: rings, deferrals, deadline, pause/resume, rollback');
  withConn(policies.command('list', { isDefault: true }).description('List policies'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnOptions & { json?: boolean }) => {
      const r = await api(o, 'GET', '/v1/policies');
      type P = {
        name: string;
        allowHotpatch: boolean;
        paused: boolean;
        isDefault: boolean;
        deadlineDays: number;
        rings: Array<{ name: string; selector: Record<string, string>; deferralDays: number }>;
      };
      print(o.json, r, () =>
        table([
          ['NAME', 'HOTPATCH', 'STATE', 'DEADLINE', 'RINGS'],
          ...(r.policies as P[]).map((p) => [
            `${p.name}${p.isDefault ? ' (default)' : ''}`,
            p.allowHotpatch ? 'allowed' : 'off',
            p.paused ? 'paused' : 'active',
            `${p.deadlineDays}d`,
            p.rings
              .map(
                (x) =>
                  `${x.name}[${
                    Object.entries(x.selector)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(',') || '*'
                  }]+${x.deferralDays}d`,
              )
              .join(' '),
          ]),
        ]),
      );
    });
  withConn(
    policies
      .command('show')
      .argument('<name>')
      .description('Show a policy and its next release dates per ring'),
  )
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: ConnOptions & { json?: boolean }) => {
      const p = await api(o, 'GET', `/v1/policies/${encodeURIComponent(name)}`);
      const cal = await api(o, 'GET', `/v1/policies/${encodeURIComponent(name)}/calendar`);
      type N = { date: string; kind: string; rings: Array<{ ring: string; date: string }> };
      print(o.json, { ...p, calendar: cal }, () =>
        [
          JSON.stringify(p.policy, null, 2),
          `restarts a year: ${cal.restartsPerYear} (monthly restart updates: ${cal.monthlyRestartsPerYear})`,
          table([
            ['RELEASE', 'KIND', 'RINGS'],
            ...(cal.next as N[]).map((n) => [
              n.date,
              n.kind,
              n.rings.map((r) => `${r.ring} ${r.date}`).join(', '),
            ]),
          ]),
        ].join('\n'),
      );
    });
  withConn(
    policies
      .command('create')
      .argument('<name>')
      .description(
        'Create a policy. Rings: --ring NAME[:KEY=VALUE,...][:DEFERRAL_DAYS], in order, e.g. --ring canary:ring=canary:0 --ring broad::3',
      ),
  )
    .option('--ring <spec>', 'ring (repeatable, in order)', parseRing)
    .option('--no-hotpatch', 'do not allow hotpatch (devices get the fixed release instead)')
    .option('--deadline <days>', 'deadline in days', intArg)
    .option('--rollback-failures <n>', 'revert automatically when this many devices fail', intArg)
    .option(
      '--rollback-errors <n>',
      'revert automatically after this many uncaught errors from patched functions',
      intArg,
    )
    .option('--default', 'make it the tenant default policy')
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        o: ConnOptions & {
          ring?: ReturnType<typeof parseRing>;
          hotpatch: boolean;
          deadline?: number;
          rollbackFailures?: number;
          rollbackErrors?: number;
          default?: boolean;
          json?: boolean;
        },
      ) => {
        const rollback = {
          ...(o.rollbackFailures ? { maxFailures: o.rollbackFailures } : {}),
          ...(o.rollbackErrors ? { maxErrors: o.rollbackErrors } : {}),
        };
        const r = await api(o, 'POST', '/v1/policies', {
          name,
          allowHotpatch: o.hotpatch,
          rings: o.ring ?? [{ name: 'all', selector: {}, deferralDays: 0 }],
          ...(o.deadline !== undefined ? { deadlineDays: o.deadline } : {}),
          rollback,
          ...(o.default ? { isDefault: true } : {}),
        });
        print(o.json, r, () => `created policy ${name}`);
      },
    );
  for (const verb of ['pause', 'resume'] as const) {
    withConn(
      policies
        .command(verb)
        .argument('<name>')
        .description(
          verb === 'pause'
            ? 'Pause a policy: no device gets new hotpatches until resumed'
            : 'Resume a paused policy',
        ),
    )
      .option('--json', 'machine-readable output')
      .action(async (name: string, o: ConnOptions & { json?: boolean }) => {
        const r = await api(o, 'POST', `/v1/policies/${encodeURIComponent(name)}/${verb}`);
        print(o.json, r, () => `${verb === 'pause' ? 'paused' : 'resumed'} ${name}`);
      });
  }
  withConn(
    policies.command('delete').argument('<name>').description('Delete a policy without deployments'),
  ).action(async (name: string, o: ConnOptions) => {
    await api(o, 'DELETE', `/v1/policies/${encodeURIComponent(name)}`);
    process.stdout.write(`deleted ${name}\n`);
  });

  withConn(
    program
      .command('deploy')
      .argument('<patchid>', 'published patch id')
      .summary("Deploy a hotpatch through a policy's rings"),
  )
    .description(
      'Deploy a published hotpatch to the devices of a policy, ring by ring (deferrals apply unless --expedite). With --wait, shows progress until every device settled.',
    )
    .requiredOption('--policy <name>', 'policy whose devices get it')
    .option('--expedite', 'out-of-band: skip ring deferrals')
    .option('--wait', 'wait until every device settled (applied, failed, ineligible, ...)')
    .option('--timeout <seconds>', 'how long --wait waits', intArg, 600)
    .option('--json', 'machine-readable output')
    .action(
      async (
        patchId: string,
        o: ConnOptions & {
          policy: string;
          expedite?: boolean;
          wait?: boolean;
          timeout: number;
          json?: boolean;
        },
      ) => {
        let v = (await api(o, 'POST', '/v1/deployments', {
          patchId,
          policy: o.policy,
          ...(o.expedite ? { expedite: true } : {}),
        })) as unknown as DeploymentView;
        if (o.wait) v = await follow(o, v.deployment.id, o.timeout, nothingDueNow);
        const later = v.devices.filter((d) => d.state === 'scheduled').length;
        print(o.json, v, () =>
          later > 0
            ? `${deploymentText(v)}\n${later} device(s) wait for their ring's deferral (or a resume)`
            : deploymentText(v),
        );
        if (o.wait && (v.summary.counts.failed ?? 0) > 0) process.exitCode = 3;
      },
    );

  withConn(
    program
      .command('deployments')
      .argument('[id]', 'deployment id')
      .summary('List deployments, or show one per device'),
  )
    .option('--json', 'machine-readable output')
    .option('--expedite', 'expedite the deployment (skip remaining ring deferrals)')
    .action(async (id: string | undefined, o: ConnOptions & { json?: boolean; expedite?: boolean }) => {
      if (!id) {
        if (o.expedite) throw new HotpatchError('E_USAGE', '--expedite needs a deployment id');
        const r = await api(o, 'GET', '/v1/deployments');
        type L = DeploymentView['deployment'] & { summary: DeploymentView['summary']; createdAt: string };
        print(o.json, r, () =>
          table([
            ['ID', 'PATCH', 'POLICY', 'STATE', 'DEVICES'],
            ...(r.deployments as L[]).map((d) => [
              d.id,
              d.patchId,
              d.policy ?? '-',
              d.state,
              progressLine({ deployment: d, summary: d.summary, devices: [] }).split(': ')[1] ?? '',
            ]),
          ]),
        );
        return;
      }
      const v = (await api(
        o,
        o.expedite ? 'POST' : 'GET',
        `/v1/deployments/${encodeURIComponent(id)}${o.expedite ? '/expedite' : ''}`,
      )) as unknown as DeploymentView;
      print(o.json, v, () => deploymentText(v));
    });

  withConn(
    program
      .command('revert-deployment')
      .argument('<id>', 'deployment id')
      .summary('Revert a deployment on every device (fleet-wide)'),
  )
    .option('--wait', 'wait until every device reverted')
    .option('--timeout <seconds>', 'how long --wait waits', intArg, 600)
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: ConnOptions & { wait?: boolean; timeout: number; json?: boolean }) => {
      let v = (await api(
        o,
        'POST',
        `/v1/deployments/${encodeURIComponent(id)}/revert`,
      )) as unknown as DeploymentView;
      if (o.wait) v = await follow(o, id, o.timeout, (x) => x.summary.settled);
      print(o.json, v, () => deploymentText(v));
    });

  withConn(
    program
      .command('report')
      .summary('Hotpatch report: Autopatch columns per policy, exposure per advisory, restarts'),
  )
    .option('--json', 'machine-readable output')
    .action(async (o: ConnOptions & { json?: boolean }) => {
      const r = await api(o, 'GET', '/v1/report');
      type P = {
        policy: string;
        devices: number;
        upToDate: number;
        hotpatched: number;
        notUpToDate: number;
        inProgress: number;
        notReady: number;
        paused: number;
      };
      type A = {
        advisory: string;
        patchIds: string[];
        devicesApplied: number;
        devicesStillExposed: number;
        exposureHours: { p50: number | null; p95: number | null };
      };
      type R = {
        device: string;
        instanceStarts: number;
        restartsLastYear: number;
        restartsPerYear: number | null;
        hotpatchesAppliedWithoutRestart: number;
        monthlyRestartsPerYear: number;
        cadenceRestartsPerYear: number;
      };
      const h = (n: number | null) => (n === null ? '-' : `${n.toFixed(1)}h`);
      print(o.json, r, () =>
        [
          table([
            [
              'POLICY',
              'DEVICES',
              'UP TO DATE',
              'HOTPATCHED',
              'NOT UP TO DATE',
              'IN PROGRESS',
              'NOT READY',
              'PAUSED',
            ],
            ...(r.policies as P[]).map((p) =>
              [
                p.policy,
                p.devices,
                p.upToDate,
                p.hotpatched,
                p.notUpToDate,
                p.inProgress,
                p.notReady,
                p.paused,
              ].map(String),
            ),
          ]),
          '',
          table([
            ['ADVISORY', 'PATCHES', 'APPLIED', 'STILL EXPOSED', 'EXPOSURE P50', 'P95'],
            ...(r.advisories as A[]).map((a) => [
              a.advisory,
              a.patchIds.join(','),
              String(a.devicesApplied),
              String(a.devicesStillExposed),
              h(a.exposureHours.p50),
              h(a.exposureHours.p95),
            ]),
          ]),
          '',
          table([
            ['DEVICE', 'STARTS', 'RESTARTS (1Y)', 'PER YEAR', 'HOTPATCHED LIVE', 'MONTHLY WOULD BE'],
            ...(r.restarts as R[]).map((x) => [
              x.device,
              String(x.instanceStarts),
              String(x.restartsLastYear),
              x.restartsPerYear === null ? '-' : String(x.restartsPerYear),
              String(x.hotpatchesAppliedWithoutRestart),
              `${x.monthlyRestartsPerYear}/y (cadence ${x.cadenceRestartsPerYear}/y)`,
            ]),
          ]),
        ].join('\n'),
      );
    });

  const tokens = program
    .command('tokens')
    .summary('API tokens (roles admin, operator, viewer) and device enrollment tokens');
  withConn(
    tokens.command('create').argument('<name>').description('Create an API token; the secret is shown once'),
  )
    .addOption(
      new Option('--role <role>', 'role').choices(['admin', 'operator', 'viewer']).makeOptionMandatory(),
    )
    .action(async (name: string, o: ConnOptions & { role: string }) => {
      const r = await api(o, 'POST', '/v1/tokens', { name, role: o.role });
      process.stdout.write(`${String(r.token)}\n`);
    });
  withConn(
    tokens
      .command('enroll')
      .argument('<name>')
      .description(
        'Create a device enrollment token (HOTPATCH_ENROLL_TOKEN); --label adds labels to devices enrolling with it',
      ),
  )
    .option('--label <key=value>', 'label for enrolling devices (repeatable)', labelArg)
    .option(
      '--allow-device-labels',
      "devices may add labels of their own (HOTPATCH_LABELS); the token's labels always win",
    )
    .action(
      async (
        name: string,
        o: ConnOptions & { label?: Record<string, string>; allowDeviceLabels?: boolean },
      ) => {
        const r = await api(o, 'POST', '/v1/enroll-tokens', {
          name,
          labels: o.label ?? {},
          allowDeviceLabels: o.allowDeviceLabels ?? false,
        });
        process.stdout.write(`${String(r.token)}\n`);
      },
    );
  withConn(tokens.command('revoke').argument('<id>').description('Revoke an API token')).action(
    async (id: string, o: ConnOptions) => {
      await api(o, 'DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      process.stdout.write(`revoked ${id}\n`);
    },
  );
}
