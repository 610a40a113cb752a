/** `hotpatch` fleet commands: Policies: rings, deferrals, deadline, pause/resume, rollback. */
import type { PolicyView } from '@hotpatch/protocol';
import type { Command } from 'commander';
import { api, type ConnOptions, intArg, parseRing, print, table, withConn } from './client.js';

/** A policy in words (JSON only with --json). */
export function policyText(p: PolicyView): string {
  const rollback = [
    p.rollback.maxFailures ? `after ${p.rollback.maxFailures} failed devices` : null,
    p.rollback.maxErrors ? `after ${p.rollback.maxErrors} errors from patched functions` : null,
  ].filter(Boolean);
  return [
    `policy ${p.name}${p.isDefault ? ' (default)' : ''}: ${p.paused ? 'paused' : 'active'}, hotpatch ${p.allowHotpatch ? 'allowed' : 'not allowed'}, deadline ${p.deadlineDays} day(s)`,
    `automatic rollback: ${rollback.length ? rollback.join(' or ') : 'off'}`,
    table([
      ['RING', 'SELECTOR', 'DEFERRAL'],
      ...p.rings.map((r) => [
        r.name,
        Object.entries(r.selector)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '* (every device)',
        `${r.deferralDays} day(s)`,
      ]),
    ]),
  ].join('\n');
}

export function registerPoliciesCommands(program: Command): void {
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
          policyText(p.policy as PolicyView),
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
}
