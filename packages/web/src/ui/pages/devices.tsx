import { useMemo, useState } from 'react';
import type { Device } from '../../api.js';
import { Badge, Empty, fmtAgo, fmtTime, Link, Loaded, labelsText, PageHead, useData } from '../kit.js';

const nodeMajor = (v: string | null) => (v ? (/^v?(\d+)/.exec(v)?.[1] ?? '') : '');

export function DevicesPage() {
  const d = useData((api) => api.devices(), [], { live: (e) => e.kind !== 'hello', pollMs: 5000 });
  const [q, setQ] = useState('');
  const [policy, setPolicy] = useState('');
  const [ring, setRing] = useState('');
  const [state, setState] = useState('');
  const [elig, setElig] = useState('');
  const [node, setNode] = useState('');
  const [label, setLabel] = useState('');
  const all = d.data ?? [];
  const options = useMemo(() => {
    const uniq = (xs: Array<string | null>) => [...new Set(xs.filter((x): x is string => !!x))].sort();
    return {
      policies: uniq(all.map((x) => x.policy)),
      rings: uniq(all.map((x) => x.ring)),
      nodes: uniq(all.map((x) => nodeMajor(x.node))),
      labels: uniq(all.flatMap((x) => Object.entries(x.labels).map(([k, v]) => `${k}=${v}`))),
    };
  }, [all]);
  const shown = all.filter((x) => {
    const text = `${x.host} ${x.service} ${labelsText(x.labels)} ${x.components.map((c) => `${c.name}@${c.version}`).join(' ')}`;
    if (q && !text.toLowerCase().includes(q.toLowerCase())) return false;
    if (policy && x.policy !== policy) return false;
    if (ring && x.ring !== ring) return false;
    if (state && deviceState(x) !== state) return false;
    if (elig && (elig === 'eligible') !== x.eligible) return false;
    if (node && nodeMajor(x.node) !== node) return false;
    if (label) {
      const [k, v] = label.split('=');
      if (!k || x.labels[k] !== v) return false;
    }
    return true;
  });
  const sel = (value: string, set: (v: string) => void, name: string, opts: string[]) => (
    <select value={value} onChange={(e) => set(e.target.value)} aria-label={name}>
      <option value="">{name}: all</option>
      {opts.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
  return (
    <>
      <PageHead title="Devices" sub="A device is a host + service; each process start is a new instance." />
      <div className="filters">
        <input
          type="search"
          placeholder="Search host, service, label, package…"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="Search devices"
        />
        {sel(policy, setPolicy, 'Policy', options.policies)}
        {sel(ring, setRing, 'Ring', options.rings)}
        {sel(state, setState, 'State', ['connected', 'disconnected', 'revoked'])}
        {sel(elig, setElig, 'Eligibility', ['eligible', 'ineligible'])}
        {sel(node, setNode, 'Node', options.nodes)}
        {sel(label, setLabel, 'Label', options.labels)}
      </div>
      <Loaded d={d}>
        {() =>
          all.length === 0 ? (
            <Empty title="No devices enrolled yet">
              Start a service with the runtime loaded and HOTPATCH_SERVER + HOTPATCH_ENROLL_TOKEN set; it
              enrolls and appears here.
            </Empty>
          ) : shown.length === 0 ? (
            <Empty title="No device matches these filters" />
          ) : (
            <table className="table" data-testid="devices">
              <thead>
                <tr>
                  <th>Device</th>
                  <th>State</th>
                  <th>Policy / ring</th>
                  <th>Node</th>
                  <th>Patch level</th>
                  <th>Eligibility</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((x) => (
                  <tr key={x.id}>
                    <td>
                      <Link to={`/devices/${x.id}`}>
                        {x.host}/{x.service}
                      </Link>
                      <div className="muted small">{labelsText(x.labels)}</div>
                    </td>
                    <td>
                      <Badge value={deviceState(x)} />
                    </td>
                    <td>
                      {x.policy ?? '—'}
                      {x.ring && <span className="muted"> / {x.ring}</span>}
                    </td>
                    <td>{x.node ?? '—'}</td>
                    <td>
                      {x.components.length === 0
                        ? '—'
                        : x.components.map((c) => (
                            <div key={c.name} className="mono small">
                              {c.name}@{c.version}
                            </div>
                          ))}
                    </td>
                    <td>
                      {x.eligible ? (
                        <Badge value="eligible" />
                      ) : (
                        <span title={x.reasons.map((r) => r.message).join('\n')}>
                          <Badge value="ineligible" />{' '}
                          <span className="muted small">{x.reasons[0]?.code}</span>
                        </span>
                      )}
                    </td>
                    <td className="muted">{x.connected ? 'now' : fmtAgo(x.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}

function deviceState(x: Device): string {
  return x.revoked ? 'revoked' : x.connected ? 'connected' : 'disconnected';
}

export function DevicePage({ id }: { id: string }) {
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
                      <Badge value="ineligible" label={r.code} /> {r.message}
                    </li>
                  ))}
                  <li className="muted">Until this is fixed, deploy the fixed release (a restart).</li>
                </ul>
              )}
              <h2>Patch level</h2>
              {x.components.length === 0 ? (
                <Empty title="No components reported" />
              ) : (
                <table className="table compact" data-testid="components">
                  <thead>
                    <tr>
                      <th>Component</th>
                      <th>Baseline (on disk)</th>
                      <th>Running</th>
                      <th>Fixed release</th>
                    </tr>
                  </thead>
                  <tbody>
                    {x.components.map((c) => {
                      const fixed = bundles
                        .filter(
                          (b) => b.targetName === c.name && b.targetBaseline === c.baseline && b.fixedIn,
                        )
                        .at(-1)?.fixedIn;
                      return (
                        <tr key={c.name}>
                          <td>{c.name}</td>
                          <td className="mono">{c.baseline}</td>
                          <td className="mono">
                            <strong data-testid="version-id">{c.version}</strong>
                            {c.patches.map((p) => (
                              <div key={p.patchId} className="small muted">
                                {p.patchId} <Badge value={p.state} />
                              </div>
                            ))}
                          </td>
                          <td className="mono">{fixed ?? '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
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
                <table className="table compact">
                  <thead>
                    <tr>
                      <th>pid</th>
                      <th>Started</th>
                      <th>Node</th>
                      <th>Last seen</th>
                    </tr>
                  </thead>
                  <tbody>
                    {instances.map((i) => (
                      <tr key={`${i.pid}-${i.started_at}`}>
                        <td className="mono">{i.pid}</td>
                        <td>{fmtTime(i.started_at)}</td>
                        <td>{i.node ?? '—'}</td>
                        <td>{fmtAgo(i.last_seen)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
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
