import { reasonInWords } from '@hotpatch/protocol/words';
import {
  DEVICE_STATES,
  type DeploymentDevice,
  type DeploymentListEntry,
  type DeviceState,
  type Summary,
} from '../../api.js';
import {
  Action,
  Badge,
  COLORS,
  Empty,
  fmtTime,
  Link,
  Loaded,
  PageHead,
  useData,
  useSession,
} from '../kit.js';
import { type Column, DataTable } from '../table.js';

const DEPLOYMENT_COLUMNS: Column<DeploymentListEntry>[] = [
  {
    key: 'patch',
    title: 'Hotpatch',
    render: (x) => (
      <>
        <Link to={`/deployments/${x.id}`} className="mono">
          {x.patchId}
        </Link>
        {x.expedite && <Badge value="pending" label="expedited" />}
        {x.title && <div className="small">{x.title}</div>}
        {x.advisories.length > 0 && <div className="small muted">{x.advisories.join(', ')}</div>}
      </>
    ),
  },
  {
    key: 'policy',
    title: 'Policy',
    render: (x) => (
      <>
        {x.policy} {x.paused && <Badge value="paused" />}
      </>
    ),
  },
  {
    key: 'state',
    title: 'State',
    render: (x) => (
      <Badge value={x.phase === 'in-progress' ? 'active' : x.phase} label={x.phase.replace('-', ' ')} />
    ),
  },
  {
    key: 'progress',
    title: 'Progress',
    width: '34%',
    render: (x) => (
      <>
        <Progress counts={x.summary.counts} total={x.summary.total} />
        <Legend counts={x.summary.counts} />
      </>
    ),
  },
  {
    key: 'created',
    title: 'Created',
    className: 'muted',
    render: (x) => (
      <>
        {fmtTime(x.createdAt)}
        <div className="small">{x.createdBy}</div>
      </>
    ),
  },
];

const DEVICE_COLUMNS: Column<DeploymentDevice>[] = [
  { key: 'device', title: 'Device', render: (r) => <Link to={`/devices/${r.deviceId}`}>{r.device}</Link> },
  { key: 'ring', title: 'Ring', render: (r) => r.ring ?? '—' },
  {
    key: 'state',
    title: 'State',
    render: (r) => (
      <>
        <Badge value={r.state} />
        {r.errors > 0 && <span className="inline-error"> {r.errors} errors</span>}
      </>
    ),
  },
  {
    key: 'why',
    title: 'Why / what to do',
    className: 'small',
    render: (r) => (
      <>
        <span title={r.reason ?? undefined}>{reasonInWords(r.reason)}</span>
        {r.scheduledFor && r.state === 'scheduled' ? ` (from ${fmtTime(r.scheduledFor)})` : ''}
        {r.action && <div className="muted">{r.action}</div>}
      </>
    ),
  },
  {
    key: 'updated',
    title: 'Updated',
    className: 'muted small',
    render: (r) => (r.appliedAt ? `applied ${fmtTime(r.appliedAt)}` : fmtTime(r.updatedAt)),
  },
];

/** A stacked progress bar of device states. */
function Progress({ counts, total }: { counts: Partial<Record<DeviceState, number>>; total: number }) {
  return (
    <div
      className="progress"
      title={DEVICE_STATES.filter((s) => counts[s])
        .map((s) => `${s}: ${counts[s]}`)
        .join(', ')}
    >
      {total === 0 ? (
        <span className="muted small">no devices</span>
      ) : (
        DEVICE_STATES.filter((s) => counts[s]).map((s) => (
          <span key={s} style={{ width: `${((counts[s] ?? 0) / total) * 100}%`, background: COLORS[s] }} />
        ))
      )}
    </div>
  );
}
function Legend({ counts }: { counts: Partial<Record<DeviceState, number>> }) {
  return (
    <span className="legend small">
      {DEVICE_STATES.filter((s) => counts[s]).map((s) => (
        <span key={s} data-count={s}>
          <i style={{ background: COLORS[s] }} />
          {s} {counts[s]}
        </span>
      ))}
    </span>
  );
}

export function DeploymentsPage() {
  const d = useData((api) => api.deployments(), [], {
    live: (e) => e.kind === 'state' || e.kind === 'deployment' || e.kind === 'policy',
  });
  return (
    <>
      <PageHead title="Deployments" sub="A hotpatch sent to a policy's rings; device states update live." />
      <Loaded d={d}>
        {(deps) =>
          deps.length === 0 ? (
            <Empty title="No deployments yet">
              Open a hotpatch in the <Link to="/catalog">catalog</Link> and deploy it to a policy.
            </Empty>
          ) : (
            <DataTable testId="deployments" rows={deps} columns={DEPLOYMENT_COLUMNS} rowKey={(x) => x.id} />
          )
        }
      </Loaded>
    </>
  );
}

function byRing(rows: DeploymentDevice[]) {
  const m = new Map<string, Summary>();
  for (const r of rows) {
    const k = r.ring ?? '(no ring)';
    const s =
      m.get(k) ??
      ({ total: 0, counts: Object.fromEntries(DEVICE_STATES.map((x) => [x, 0])), settled: true } as Summary);
    s.total++;
    s.counts[r.state]++;
    m.set(k, s);
  }
  return [...m.entries()];
}

export function DeploymentPage({ id }: { id: string }) {
  const { api, can } = useSession();
  const d = useData((a) => a.deployment(id), [id], {
    live: (e) =>
      (e.kind === 'state' && e.deploymentId === id) ||
      (e.kind === 'deployment' && e.id === id) ||
      e.kind === 'policy',
  });
  return (
    <Loaded d={d}>
      {({ deployment: dep, summary, devices }) => (
        <>
          <PageHead
            title={dep.patchId}
            sub={
              <>
                {dep.title && (
                  <>
                    {dep.title}
                    {dep.advisories.length > 0 && ` (${dep.advisories.join(', ')})`} ·{' '}
                  </>
                )}
                <Link to="/deployments">Deployments</Link> · to policy {dep.policy} · <code>{dep.id}</code> ·
                created {fmtTime(dep.createdAt)} by {dep.createdBy}
              </>
            }
          >
            <span data-testid="deployment-state">
              <Badge value={dep.state} />
            </span>
            {dep.phase === 'completed' && <Badge value="completed" />}
            {dep.expedite && <Badge value="pending" label="expedited" />}
            {dep.paused && <Badge value="paused" label="policy paused" />}
            {can('operator') && dep.phase === 'in-progress' && !dep.expedite && (
              <Action run={() => api.expedite(id)} onDone={d.reload} testId="expedite">
                Expedite
              </Action>
            )}
            {can('operator') && dep.state === 'active' && summary.counts.failed > 0 && (
              <Action run={() => api.retry(id)} onDone={d.reload} testId="retry">
                Retry {summary.counts.failed} failed
              </Action>
            )}
            {can('operator') && dep.state === 'active' && (
              <Action
                className="btn danger"
                run={() => api.revert(id)}
                onDone={d.reload}
                confirm="Revert this hotpatch on every device? They go back to the baseline code, without a restart."
                testId="revert"
              >
                Revert
              </Action>
            )}
          </PageHead>
          {dep.revertReason && (
            <div className="state empty">
              Reverted {fmtTime(dep.revertedAt)}: {dep.revertReason}
            </div>
          )}
          <div className="card">
            <h2>Progress by ring</h2>
            <div className="ring-progress" data-testid="ring-progress">
              <div className="ring-row total">
                <strong>All devices</strong>
                <Progress counts={summary.counts} total={summary.total} />
                <Legend counts={summary.counts} />
              </div>
              {byRing(devices).map(([ring, s]) => (
                <div className="ring-row" key={ring} data-ring={ring}>
                  <span>{ring}</span>
                  <Progress counts={s.counts} total={s.total} />
                  <Legend counts={s.counts} />
                </div>
              ))}
            </div>
            <p className="muted small">
              {summary.settled
                ? 'Settled: every device reached a final state.'
                : 'In progress: updates arrive live.'}
            </p>
          </div>
          <div className="card">
            <h2>Devices</h2>
            {devices.length === 0 ? (
              <Empty title="No device is in this policy">
                Devices join through the policy's ring labels.
              </Empty>
            ) : (
              <DataTable
                testId="deployment-devices"
                rows={devices}
                columns={DEVICE_COLUMNS}
                rowKey={(r) => r.deviceId}
                rowAttrs={(r) => ({ 'data-device': r.device })}
              />
            )}
          </div>
        </>
      )}
    </Loaded>
  );
}
