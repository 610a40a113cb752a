/** `hotpatch` fleet commands: Deployments: deploy, list/show/expedite, fleet-wide revert. */
import { HotpatchError } from '@hotpatch/core';
import type { Command } from 'commander';
import { api, type ConnOptions, intArg, print, table, withConn } from './client.js';
import {
  type DeploymentView,
  deploymentText,
  follow,
  nothingDueNow,
  progressLine,
} from './deployment-view.js';

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
}
