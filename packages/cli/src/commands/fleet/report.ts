/** `hotpatch` fleet commands: The hotpatch report. */
import type { Command } from 'commander';
import { api, type ConnOptions, print, table, withConn } from './client.js';

export function registerReportCommand(program: Command): void {
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
}
