/** `hotpatch` fleet commands: Deployments: deploy, list/show/expedite, fleet-wide revert. */
import { HotpatchError } from '@hotpatch/core';
import type { DeploymentListItem, ReadinessResponse } from '@hotpatch/protocol';
import type { Command } from 'commander';
import { api, type ConnOptions, intArg, print, table, withConn } from './client.js';
import {
  type DeploymentView,
  deploymentText,
  follow,
  nothingDueNow,
  progressLine,
} from './deployment-view.js';

/** Readiness in the terminal: counts, then one row per device with why not. */
export function readinessText(r: ReadinessResponse): string {
  const head = `${r.patchId} (${r.target}) to ${r.policy ?? 'every policy'}: ${r.counts.eligible} eligible, ${r.counts.ineligible} not eligible, ${r.counts.notApplicable} not applicable`;
  if (r.devices.length === 0) return head;
  return `${head}\n${table([
    ['DEVICE', 'RING', 'READY', 'WHY NOT / WHAT TO DO'],
    ...r.devices.map((d) => [
      d.device,
      d.ring ?? '-',
      d.readiness === 'eligible' ? 'yes' : d.readiness === 'ineligible' ? 'no' : 'n/a',
      [d.why, d.action ? `-> ${d.action}` : ''].filter(Boolean).join(' '),
    ]),
  ])}`;
}

export function registerDeploymentCommands(program: Command): void {
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
    .option(
      '--what-if',
      'only show which devices would take it now and why the others would not (exit 3 when none)',
    )
    .option(
      '--force',
      'deploy even when no device of the policy is eligible now (devices may enroll or change later)',
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        patchId: string,
        o: ConnOptions & {
          policy: string;
          expedite?: boolean;
          wait?: boolean;
          timeout: number;
          whatIf?: boolean;
          force?: boolean;
          json?: boolean;
        },
      ) => {
        const ready = (await api(
          o,
          'GET',
          `/v1/bundles/${encodeURIComponent(patchId)}/readiness?policy=${encodeURIComponent(o.policy)}`,
        )) as unknown as ReadinessResponse;
        if (o.whatIf) {
          print(o.json, ready, () => readinessText(ready));
          if (ready.counts.eligible === 0) process.exitCode = 3;
          return;
        }
        if (ready.counts.eligible === 0 && !o.force) {
          const why = ready.devices.length
            ? `no device of policy ${o.policy} can take ${patchId} now:\n${readinessText(ready)}`
            : `policy ${o.policy} has no devices`;
          throw new HotpatchError('E_PROCESS', `${why}\n(--force deploys anyway)`, 3);
        }
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
    .option('--retry', 'send it again to the devices where it failed (after fixing the cause)')
    .action(
      async (
        id: string | undefined,
        o: ConnOptions & { json?: boolean; expedite?: boolean; retry?: boolean },
      ) => {
        if (!id) {
          if (o.expedite || o.retry)
            throw new HotpatchError('E_USAGE', `${o.retry ? '--retry' : '--expedite'} needs a deployment id`);
          const r = await api(o, 'GET', '/v1/deployments');
          print(o.json, r, () =>
            table([
              ['ID', 'PATCH', 'ADVISORIES', 'POLICY', 'STATE', 'DEVICES'],
              ...(r.deployments as DeploymentListItem[]).map((d) => [
                d.id,
                d.title ? `${d.patchId} ${d.title}` : d.patchId,
                d.advisories?.join(',') || '-',
                d.policy ?? '-',
                d.phase ?? d.state,
                progressLine({ deployment: d, summary: d.summary }).split(': ')[1] ?? '',
              ]),
            ]),
          );
          return;
        }
        if (o.retry) {
          const r = await api(o, 'POST', `/v1/deployments/${encodeURIComponent(id)}/retry`);
          if (!o.json) process.stderr.write(`retrying ${(r.retried as string[]).length} failed device(s)\n`);
        }
        const v = (await api(
          o,
          o.expedite ? 'POST' : 'GET',
          `/v1/deployments/${encodeURIComponent(id)}${o.expedite ? '/expedite' : ''}`,
        )) as unknown as DeploymentView;
        print(o.json, v, () => deploymentText(v));
      },
    );

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
}
