import {
  DEVICE_STATUS_KINDS,
  DEVICE_STATUS_TITLES,
  REASON_WORDS,
  reasonInWords,
} from '@hotpatch/protocol/words';
import { useEffect, useState } from 'react';
import type { Device, DeviceRow } from '../../api.js';
import {
  Badge,
  Empty,
  fmtAgo,
  fmtTime,
  Link,
  Loaded,
  labelsText,
  PageHead,
  useData,
  useSession,
} from '../kit.js';
import { type Column, DataTable, download, Pager } from '../table.js';
import { componentColumns, INSTANCE_COLUMNS } from './device-columns.js';

const PAGE = 50;

/** The components worth a glance (vulnerable or hotpatched, as the server picks them), the rest counted. */
function Notable({ notable, otherComponents: rest }: Pick<DeviceRow, 'notable' | 'otherComponents'>) {
  return (
    <>
      {notable.map((c) => (
        <div key={c.name} className="mono small">
          {c.name}@{c.version}
          {c.vulnerable.length > 0 && <span className="bad-text"> {c.vulnerable.join(', ')}</span>}
        </div>
      ))}
      {rest > 0 && (
        <div className="muted small">
          {notable.length ? '+' : ''}
          {rest} other component{rest === 1 ? '' : 's'}
        </div>
      )}
      {notable.length + rest === 0 && '—'}
    </>
  );
}

export function StatusCell({ status }: { status: Device['status'] }) {
  const title = DEVICE_STATUS_TITLES[status.kind];
  const detail = status.label.startsWith(title)
    ? status.label.slice(title.length).replace(/^:?\s*/, '')
    : status.label;
  return (
    <span data-testid="device-status" data-status={status.kind} title={status.action || undefined}>
      <Badge value={status.kind} label={title} />
      {detail && <div className="small">{detail}</div>}
    </span>
  );
}

export function DevicesPage() {
  const { api } = useSession();
  const [typed, setTyped] = useState('');
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState('status');
  const [offset, setOffset] = useState(0);
  // One request once typing pauses briefly, not one per keystroke (a request is one SQL query).
  useEffect(() => {
    const t = setTimeout(() => {
      setQ(typed);
      setOffset(0);
    }, 60);
    return () => clearTimeout(t);
  }, [typed]);
  const query = { limit: PAGE, offset, sort, status, q };
  const d = useData((a) => a.devicePage(query), [q, status, sort, offset], {
    live: (e) => e.kind !== 'hello',
    pollMs: 5000,
  });
  const reset =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setOffset(0);
    };
  const columns: Array<Column<DeviceRow>> = [
    {
      key: 'device',
      title: 'Device',
      sort: 'name',
      render: (x) => (
        <>
          <Link to={`/devices/${x.id}`}>
            {x.host}/{x.service}
          </Link>
          <div className="muted small">{labelsText(x.labels)}</div>
        </>
      ),
    },
    {
      key: 'status',
      title: 'Update status',
      sort: 'status',
      width: '30%',
      render: (x) => <StatusCell status={x.status} />,
    },
    {
      key: 'policy',
      title: 'Policy / ring',
      sort: 'policy',
      render: (x) => (
        <>
          {x.policy ?? '—'}
          {x.ring && <span className="muted"> / {x.ring}</span>}
        </>
      ),
    },
    { key: 'components', title: 'Components', render: (x) => <Notable {...x} /> },
    { key: 'state', title: 'Connection', render: (x) => <Badge value={deviceState(x)} /> },
    {
      key: 'seen',
      title: 'Last seen',
      sort: 'lastSeen',
      className: 'muted',
      render: (x) => (x.connected ? 'now' : fmtAgo(x.lastSeen)),
    },
  ];
  return (
    <>
      <PageHead title="Devices" sub="A device is a host + service; each process start is a new instance.">
        <button
          type="button"
          className="btn"
          data-testid="devices-csv"
          onClick={async () => download('devices.csv', await api.devicesCsv({ sort, status, q }))}
        >
          Export CSV
        </button>
      </PageHead>
      {d.data && (
        <div className="status-chips" data-testid="status-counts">
          {DEVICE_STATUS_KINDS.filter((k) => (d.data?.counts[k] ?? 0) > 0).map((k) => (
            <button
              key={k}
              type="button"
              className={status === k ? 'chip active' : 'chip'}
              data-status={k}
              onClick={() => reset(setStatus)(status === k ? '' : k)}
            >
              <Badge value={k} label={DEVICE_STATUS_TITLES[k]} /> {d.data?.counts[k]}
            </button>
          ))}
        </div>
      )}
      <div className="filters">
        <input
          type="search"
          placeholder="Search host, service, label, policy, CVE…"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          aria-label="Search devices"
        />
        <select value={status} onChange={(e) => reset(setStatus)(e.target.value)} aria-label="Status">
          <option value="">Status: all</option>
          {DEVICE_STATUS_KINDS.map((k) => (
            <option key={k} value={k}>
              {DEVICE_STATUS_TITLES[k]}
            </option>
          ))}
        </select>
      </div>
      <Loaded d={d}>
        {(r) =>
          r.total === 0 && !q && !status ? (
            <Empty title="No devices enrolled yet">
              Start a service with the runtime loaded and HOTPATCH_SERVER + HOTPATCH_ENROLL_TOKEN set; it
              enrolls and appears here.
            </Empty>
          ) : r.devices.length === 0 ? (
            <Empty title="No device matches these filters" />
          ) : (
            <>
              <DataTable
                rows={r.devices}
                columns={columns}
                rowKey={(x) => x.id}
                sort={sort}
                onSort={reset(setSort)}
                testId="devices"
                rowAttrs={(x) => ({ 'data-device': `${x.host}/${x.service}` })}
              />
              <Pager offset={offset} limit={PAGE} total={r.total} onPage={setOffset} />
            </>
          )
        }
      </Loaded>
    </>
  );
}

function deviceState(x: Pick<Device, 'revoked' | 'connected'>): string {
  return x.revoked ? 'revoked' : x.connected ? 'connected' : 'disconnected';
}

/** Vulnerable and hotpatched components (the server lists them first); at least a few rows. */
function notable(components: Device['components']): Device['components'] {
  const n = components.filter((c) => c.vulnerable.length > 0 || c.patches.length > 0);
  return n.length > 0 ? n : components.slice(0, 5);
}

export function DevicePage({ id }: { id: string }) {
  const [showAll, setShowAll] = useState(false);
  const d = useData(
    async (api) => {
      const [detail, bundles, deployments, audit] = await Promise.all([
        api.device(id),
        api.bundles(),
        api.deployments(),
        api.audit(1000),
      ]);
      const views = await Promise.all(deployments.map((x) => api.deployment(x.id)));
      const history = views
        .map((v) => ({ deployment: v.deployment, row: v.devices.find((r) => r.deviceId === id) }))
        .filter((x) => x.row);
      return { ...detail, bundles, history, audit: audit.filter((a) => a.subject === id) };
    },
    [id],
    {
      live: (e) => e.kind === 'state' || e.kind === 'deployment' || (e.kind === 'device' && e.id === id),
      pollMs: 5000,
    },
  );
  return (
    <Loaded d={d}>
      {({ device: x, instances, bundles, history, audit }) => (
        <>
          <PageHead
            title={`${x.host}/${x.service}`}
            sub={
              <>
                <Link to="/devices">Devices</Link> · id <code>{x.id}</code>
              </>
            }
          >
            <Badge value={deviceState(x)} />
          </PageHead>
          <section className={`card attention ${x.status.kind}`} data-testid="attention">
            <h2>
              <StatusCell status={x.status} />
            </h2>
            {x.status.action && (
              <p>
                <strong>What to do:</strong> {x.status.action}
              </p>
            )}
            {history
              .filter(({ row }) => row?.state === 'failed')
              .map(({ deployment, row }) => (
                <p key={deployment.id} className="bad-text">
                  Deployment <Link to={`/deployments/${deployment.id}`}>{deployment.patchId}</Link> failed:{' '}
                  {reasonInWords(row?.reason)}
                </p>
              ))}
            {!x.eligible && (
              <p className="muted">Not eligible for hotpatch: {x.reasons.map((r) => r.message).join('; ')}</p>
            )}
          </section>
          <section className="grid2">
            <div className="card">
              <h2>Identity</h2>
              <dl className="kv">
                <dt>Host</dt>
                <dd>{x.host}</dd>
                <dt>Service</dt>
                <dd>{x.service}</dd>
                <dt>Labels</dt>
                <dd>{labelsText(x.labels) || '—'}</dd>
                <dt>Policy / ring</dt>
                <dd>
                  {x.policy ?? 'none'} / {x.ring ?? 'no ring'}
                </dd>
                <dt>Node</dt>
                <dd>{x.node ?? '—'}</dd>
                <dt>Engine</dt>
                <dd>{x.engine ?? '—'}</dd>
                <dt>Signature enforcement</dt>
                <dd>{x.signatureEnforcement === null ? '—' : x.signatureEnforcement ? 'on' : 'OFF'}</dd>
                <dt>Enrolled</dt>
                <dd>{fmtTime(x.enrolledAt)}</dd>
                <dt>Current instance</dt>
                <dd>
                  {x.instance ? `pid ${x.instance.pid}, started ${fmtTime(x.instance.startedAt)}` : '—'}
                </dd>
              </dl>
            </div>
            <div className="card">
              <h2>Eligibility for hotpatch</h2>
              {x.eligible ? (
                <p>
                  <Badge value="eligible" /> Receives hotpatches in memory, without a restart.
                </p>
              ) : (
                <ul className="reasons" data-testid="reasons">
                  {x.reasons.map((r) => (
                    <li key={r.code}>
                      <Badge value="ineligible" label={REASON_WORDS[r.code] ?? r.code} /> {r.message}
                    </li>
                  ))}
                  <li className="muted">Until this is fixed, deploy the fixed release (a restart).</li>
                </ul>
              )}
              <h2>Patch level</h2>
              {x.components.length === 0 ? (
                <Empty title="No components reported" />
              ) : (
                <DataTable
                  compact
                  testId="components"
                  rows={showAll ? x.components : notable(x.components)}
                  columns={componentColumns(bundles)}
                  rowKey={(c) => c.name}
                  rowAttrs={(c) => ({ 'data-component': c.name })}
                />
              )}
              {x.components.length > notable(x.components).length && (
                <button
                  type="button"
                  className="btn link"
                  data-testid="toggle-components"
                  onClick={() => setShowAll(!showAll)}
                >
                  {showAll
                    ? 'Show only components that need attention'
                    : `Show all ${x.components.length} components (${x.components.length - notable(x.components).length} without known issues)`}
                </button>
              )}
              <p className="muted small">
                A hotpatched component keeps its baseline version and gains a hotpatch level (+hp.N), the way
                Windows shows 26100.3107 beside 26100.3194. The fixed release carries the same fix with a
                restart.
              </p>
            </div>
          </section>
          <section className="grid2">
            <div className="card">
              <h2>Instances (restarts)</h2>
              {instances.length === 0 ? (
                <Empty title="No instance has reported yet" />
              ) : (
                <DataTable
                  compact
                  rows={instances}
                  columns={INSTANCE_COLUMNS}
                  rowKey={(i) => `${i.pid}-${i.started_at}`}
                />
              )}
              <p className="muted small">{Math.max(0, instances.length - 1)} restart(s) recorded.</p>
            </div>
            <div className="card">
              <h2>History</h2>
              {history.length === 0 && audit.length === 0 ? (
                <Empty title="No deployments have reached this device yet" />
              ) : (
                <ul className="timeline">
                  {history.map(({ deployment, row }) => (
                    <li key={deployment.id}>
                      <Link to={`/deployments/${deployment.id}`}>{deployment.patchId}</Link>{' '}
                      <Badge value={row?.state ?? ''} />{' '}
                      <span className="muted small">
                        {row?.appliedAt ? `applied ${fmtTime(row.appliedAt)}` : fmtTime(row?.updatedAt)}
                        {row?.reason ? ` · ${row.reason}` : ''}
                      </span>
                    </li>
                  ))}
                  {audit.map((a) => (
                    <li key={a.id}>
                      <code>{a.action}</code>{' '}
                      <span className="muted small">
                        by {a.actor}, {fmtTime(a.at)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </section>
        </>
      )}
    </Loaded>
  );
}
