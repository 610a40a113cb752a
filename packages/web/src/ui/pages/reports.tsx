/**
 * Reports: per advisory (devices affected now, hotpatched, exposure windows) and per device
 * (update status, hotpatches applied without a restart, restarts), filterable, exported as CSV.
 */
import { useState } from 'react';
import type { AdvisoryExposure, AdvisoryView, DeviceRestarts, DeviceRow } from '../../api.js';
import { fmtHours, Link, Loaded, PageHead, useData } from '../kit.js';
import { csv, DataTable, download, sortRows } from '../table.js';
import { StatusCell } from './devices.js';

interface AdvisoryRow {
  id: string;
  summary: string;
  affectedNow: number;
  hotpatchable: number;
  applied: number;
  p50: number | null;
  p95: number | null;
  open: number | null;
}

/** Known advisories (OSV) joined with the exposure measured by deployments of their hotpatches. */
export function advisoryRows(
  known: readonly AdvisoryView[],
  exposure: readonly AdvisoryExposure[],
): AdvisoryRow[] {
  const byId = new Map(exposure.map((e) => [e.advisory, e]));
  const rows: AdvisoryRow[] = known.map((a) => {
    const e = a.ids.map((i) => byId.get(i)).find(Boolean);
    for (const i of a.ids) byId.delete(i);
    return {
      id: a.ids[0] ?? a.id,
      summary: a.summary,
      affectedNow: a.affected.length,
      hotpatchable: a.affected.filter((x) => x.remedy === 'hotpatch available').length,
      applied: e?.devicesApplied ?? 0,
      p50: e?.exposureHours.p50 ?? null,
      p95: e?.exposureHours.p95 ?? null,
      open: e?.openExposureHours ?? null,
    };
  });
  // Advisories known only from hotpatches in the catalog (no OSV record imported).
  for (const e of byId.values())
    rows.push({
      id: e.advisory,
      summary: '',
      affectedNow: e.devicesStillExposed,
      hotpatchable: e.devicesStillExposed,
      applied: e.devicesApplied,
      p50: e.exposureHours.p50,
      p95: e.exposureHours.p95,
      open: e.openExposureHours,
    });
  return rows;
}

export function ReportsPage() {
  const d = useData(
    async (api) => {
      const [advisories, report, devices] = await Promise.all([
        api.advisories(),
        api.report(),
        api.devicePage({ sort: 'status' }),
      ]);
      return { advisories, report, devices: devices.devices };
    },
    [],
    { live: (e) => e.kind !== 'hello', pollMs: 15_000 },
  );
  const [q, setQ] = useState('');
  const [advSort, setAdvSort] = useState('-affectedNow');
  const match = (...xs: string[]) => !q || xs.some((x) => x.toLowerCase().includes(q.toLowerCase()));
  return (
    <>
      <PageHead
        title="Reports"
        sub="Per advisory and per device; exposure is measured from the advisory's publication."
      />
      <div className="filters">
        <input
          type="search"
          placeholder="Filter by advisory, device, status…"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="Filter reports"
        />
      </div>
      <Loaded d={d}>
        {({ advisories, report, devices }) => {
          const rows = sortRows(
            advisoryRows(advisories, report.advisories).filter((r) => match(r.id, r.summary)),
            advSort,
            {
              id: (r) => r.id,
              affectedNow: (r) => r.affectedNow,
              applied: (r) => r.applied,
              p95: (r) => r.p95 ?? -1,
            },
          );
          const restarts = new Map<string, DeviceRestarts>(report.restarts.map((r) => [r.deviceId, r]));
          const devs = devices.filter((x: DeviceRow) =>
            match(`${x.host}/${x.service}`, x.status.label, x.policy ?? '', ...x.status.cves),
          );
          return (
            <>
              <section className="card">
                <div className="card-head">
                  <h2>Per advisory</h2>
                  <button
                    type="button"
                    className="btn"
                    data-testid="advisories-csv"
                    onClick={() =>
                      download(
                        'advisories.csv',
                        csv(
                          [
                            'advisory',
                            'summary',
                            'devices affected now',
                            'of which hotpatchable',
                            'devices hotpatched',
                            'exposure p50 (hours)',
                            'exposure p95 (hours)',
                            'open exposure (hours)',
                          ],
                          rows.map((r) => [
                            r.id,
                            r.summary,
                            r.affectedNow,
                            r.hotpatchable,
                            r.applied,
                            r.p50 ?? '',
                            r.p95 ?? '',
                            r.open ?? '',
                          ]),
                        ),
                      )
                    }
                  >
                    Export CSV
                  </button>
                </div>
                <DataTable
                  testId="report-advisories"
                  rows={rows}
                  rowKey={(r) => r.id}
                  sort={advSort}
                  onSort={setAdvSort}
                  rowAttrs={(r) => ({ 'data-advisory': r.id })}
                  columns={[
                    {
                      key: 'id',
                      title: 'Advisory',
                      sort: 'id',
                      render: (r) => (
                        <>
                          <strong className="mono">{r.id}</strong>
                          <div className="small muted">{r.summary}</div>
                        </>
                      ),
                    },
                    {
                      key: 'now',
                      title: 'Affected now',
                      sort: 'affectedNow',
                      render: (r) => `${r.affectedNow} (${r.hotpatchable} hotpatchable)`,
                    },
                    { key: 'applied', title: 'Hotpatched', sort: 'applied', render: (r) => r.applied },
                    { key: 'p50', title: 'Exposure p50', render: (r) => fmtHours(r.p50) },
                    { key: 'p95', title: 'Exposure p95', sort: 'p95', render: (r) => fmtHours(r.p95) },
                    { key: 'open', title: 'Still open for', render: (r) => fmtHours(r.open) },
                  ]}
                />
              </section>
              <section className="card">
                <div className="card-head">
                  <h2>Per device</h2>
                  <button
                    type="button"
                    className="btn"
                    data-testid="devices-report-csv"
                    onClick={() =>
                      download(
                        'devices-report.csv',
                        csv(
                          [
                            'device',
                            'policy',
                            'status',
                            'cves',
                            'hotpatches applied without restart',
                            'restarts (last year)',
                          ],
                          devs.map((x) => [
                            `${x.host}/${x.service}`,
                            x.policy ?? '',
                            x.status.label,
                            x.status.cves.join(' '),
                            restarts.get(x.id)?.hotpatchesAppliedWithoutRestart ?? 0,
                            restarts.get(x.id)?.restartsLastYear ?? 0,
                          ]),
                        ),
                      )
                    }
                  >
                    Export CSV
                  </button>
                </div>
                <DataTable
                  testId="report-devices"
                  rows={devs}
                  rowKey={(x) => x.id}
                  rowAttrs={(x) => ({ 'data-device': `${x.host}/${x.service}` })}
                  columns={[
                    {
                      key: 'device',
                      title: 'Device',
                      render: (x) => <Link to={`/devices/${x.id}`}>{`${x.host}/${x.service}`}</Link>,
                    },
                    {
                      key: 'status',
                      title: 'Update status',
                      render: (x) => <StatusCell status={x.status} />,
                    },
                    { key: 'policy', title: 'Policy', render: (x) => x.policy ?? '—' },
                    {
                      key: 'avoided',
                      title: 'Restarts avoided',
                      render: (x) => restarts.get(x.id)?.hotpatchesAppliedWithoutRestart ?? 0,
                    },
                    {
                      key: 'restarts',
                      title: 'Restarts (last year)',
                      render: (x) => restarts.get(x.id)?.restartsLastYear ?? 0,
                    },
                  ]}
                />
              </section>
            </>
          );
        }}
      </Loaded>
    </>
  );
}
