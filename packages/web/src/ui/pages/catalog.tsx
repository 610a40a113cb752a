import { useState } from 'react';
import type { Baseline, Bundle, Change, Policy } from '../../api.js';
import {
  Badge,
  Empty,
  ErrorBox,
  fmtTime,
  Link,
  Loaded,
  navigate,
  PageHead,
  useData,
  useSession,
} from '../kit.js';
import { type Column, DataTable } from '../table.js';

export function CatalogPage() {
  const d = useData(
    async (api) => {
      const [bundles, baselines] = await Promise.all([api.bundles(), api.baselines()]);
      return { bundles, baselines };
    },
    [],
    { live: (e) => e.kind === 'deployment' },
  );
  return (
    <>
      <PageHead
        title="Catalog"
        sub="Signed security hotpatches (each with its patch ID, like a KB number) and the baselines they apply over."
      />
      <Loaded d={d}>
        {({ bundles, baselines }) => (
          <>
            <div className="card">
              <h2>Hotpatches</h2>
              {bundles.length === 0 ? (
                <Empty title="No hotpatches published">
                  Build one with <code>hotpatch build</code> and upload it with{' '}
                  <code>hotpatch publish FILE</code>.
                </Empty>
              ) : (
                <DataTable
                  testId="bundles"
                  rows={[...bundles].reverse()}
                  columns={BUNDLE_COLUMNS}
                  rowKey={(b) => b.patchId}
                />
              )}
            </div>
            <div className="card">
              <h2>Baselines</h2>
              {baselines.length === 0 ? (
                <Empty title="No baselines recorded">
                  A baseline is recorded per target when its first hotpatch is published.
                </Empty>
              ) : (
                <DataTable
                  compact
                  rows={baselines}
                  columns={BASELINE_COLUMNS}
                  rowKey={(b) => `${b.target}@${b.version}`}
                />
              )}
            </div>
          </>
        )}
      </Loaded>
    </>
  );
}

const BUNDLE_COLUMNS: Column<Bundle>[] = [
  {
    key: 'patchId',
    title: 'Patch ID',
    render: (b) => (
      <Link to={`/catalog/${encodeURIComponent(b.patchId)}`} className="mono">
        {b.patchId}
      </Link>
    ),
  },
  { key: 'title', title: 'Title', render: (b) => b.title },
  { key: 'advisories', title: 'Advisories', render: (b) => b.advisories.join(', ') },
  { key: 'severity', title: 'Severity', render: (b) => <Badge value={b.severity} /> },
  {
    key: 'target',
    title: 'Target',
    className: 'mono',
    render: (b) => (
      <>
        {b.targetName}@{b.targetBaseline}
      </>
    ),
  },
  { key: 'version', title: 'Version identifier', className: 'mono', render: (b) => b.version },
  { key: 'fixedIn', title: 'Fixed release', className: 'mono', render: (b) => b.fixedIn ?? '—' },
  { key: 'signature', title: 'Signature', render: (b) => <Signature b={b} /> },
  { key: 'published', title: 'Published', className: 'muted', render: (b) => fmtTime(b.publishedAt) },
];

const BASELINE_COLUMNS: Column<Baseline>[] = [
  { key: 'target', title: 'Target', render: (b) => b.target },
  { key: 'version', title: 'Version', className: 'mono', render: (b) => b.version },
  {
    key: 'current',
    title: 'Current',
    render: (b) =>
      b.current ? <Badge value="applied" label="current" /> : <span className="muted">older</span>,
  },
  { key: 'recorded', title: 'Recorded', className: 'muted', render: (b) => fmtTime(b.recordedAt) },
];

/** A change of the builder's list with the file it is in. */
type FileChange = Change & { path: string };

const CHANGE_COLUMNS: Column<FileChange>[] = [
  {
    key: 'file',
    title: 'File',
    className: 'mono small',
    render: (c) => `${c.path}${c.line ? `:${c.line}` : ''}`,
  },
  { key: 'kind', title: 'Change', render: (c) => c.kind },
  { key: 'name', title: 'Name', className: 'mono small', render: (c) => c.name },
  {
    key: 'verdict',
    title: 'Verdict',
    render: (c) => (
      <Badge
        value={c.verdict === 'live' ? 'applied' : c.verdict === 'restart' ? 'failed' : 'reverted'}
        label={c.verdict}
      />
    ),
  },
  { key: 'why', title: 'Why', className: 'small', render: (c) => c.reason },
];

function Signature({ b }: { b: Bundle }) {
  return b.keyId ? (
    <span title={`Ed25519, key ${b.keyId}; verified against the server's trusted keys when published`}>
      <Badge value="applied" label="verified" />{' '}
      <span className="mono small muted">{b.keyId.slice(0, 12)}</span>
    </span>
  ) : (
    <Badge value="failed" label="unsigned" />
  );
}

export function PatchPage({ patchId }: { patchId: string }) {
  const { can } = useSession();
  const d = useData(
    async (api) => {
      const [doc, bundles, policies, deployments] = await Promise.all([
        api.bundleDocument(patchId),
        api.bundles(),
        api.policies(),
        api.deployments(),
      ]);
      const bundle = bundles.find((b) => b.patchId === patchId);
      if (!bundle) throw new Error(`patch ${patchId} is not in the catalog`);
      return { doc, bundle, policies, deployments: deployments.filter((x) => x.patchId === patchId) };
    },
    [patchId],
    { live: (e) => e.kind === 'deployment' || e.kind === 'state' },
  );
  return (
    <Loaded d={d}>
      {({ doc, bundle: b, policies, deployments }) => {
        const changes = doc.payload.files.flatMap((f) => f.changes.map((c) => ({ ...c, path: f.path })));
        return (
          <>
            <PageHead
              title={b.patchId}
              sub={
                <>
                  <Link to="/catalog">Catalog</Link> · {b.title}
                </>
              }
            >
              {can('operator') && <DeployForm patchId={b.patchId} policies={policies} />}
            </PageHead>
            <section className="grid2">
              <div className="card">
                <h2>Release</h2>
                <dl className="kv">
                  <dt>Advisories</dt>
                  <dd>{b.advisories.join(', ')}</dd>
                  <dt>Severity</dt>
                  <dd>
                    <Badge value={b.severity} />
                  </dd>
                  <dt>Target (baseline)</dt>
                  <dd className="mono">
                    {b.targetName}@{b.targetBaseline}
                  </dd>
                  <dt>Version identifier</dt>
                  <dd className="mono">
                    <strong>{b.version}</strong> (hotpatch level {b.level})
                  </dd>
                  <dt>Fixed release (restart)</dt>
                  <dd className="mono">{b.fixedIn ?? '—'}</dd>
                  <dt>Signature</dt>
                  <dd>
                    <Signature b={b} /> {doc.signature ? '' : '(no signature in the stored bundle)'}
                  </dd>
                  <dt>sha256</dt>
                  <dd className="mono small">{b.sha256}</dd>
                  <dt>Advisory published</dt>
                  <dd>{fmtTime(b.advisoryPublishedAt)}</dd>
                  <dt>Hotpatch published</dt>
                  <dd>
                    {fmtTime(b.publishedAt)} <span className="muted">by {b.publishedBy}</span>
                  </dd>
                </dl>
              </div>
              <div className="card">
                <h2>Deployments</h2>
                {deployments.length === 0 ? (
                  <Empty title="Not deployed yet">
                    {can('operator') ? 'Pick a policy above and deploy.' : null}
                  </Empty>
                ) : (
                  <ul className="timeline">
                    {deployments.map((x) => (
                      <li key={x.id}>
                        <Link to={`/deployments/${x.id}`}>{x.policy}</Link>{' '}
                        <Badge
                          value={x.phase === 'in-progress' ? 'active' : x.phase}
                          label={x.phase.replace('-', ' ')}
                        />{' '}
                        <span className="muted small">
                          {x.summary.counts.applied}/{x.summary.total} applied · {fmtTime(x.createdAt)}
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            </section>
            <div className="card">
              <h2>The builder's change list</h2>
              <p className="muted small">
                Every change between the baseline and the fixed release, with the builder's verdict: live
                (applied in memory), restart (needs a baseline), deferred or ignored (takes effect at the next
                baseline).
              </p>
              {changes.length === 0 ? (
                <Empty title="No changes listed" />
              ) : (
                <DataTable
                  compact
                  testId="changes"
                  rows={changes}
                  columns={CHANGE_COLUMNS}
                  rowKey={(c, i) => `${c.path}-${c.name}-${i}`}
                />
              )}
            </div>
          </>
        );
      }}
    </Loaded>
  );
}

function DeployForm({ patchId, policies }: { patchId: string; policies: Policy[] }) {
  const { api } = useSession();
  const [policy, setPolicy] = useState(policies.find((p) => !p.isDefault)?.name ?? policies[0]?.name ?? '');
  const [expedite, setExpedite] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const r = await api.deploy(patchId, policy, expedite);
          navigate(`/deployments/${r.deployment.id}`);
        } catch (err) {
          setError(err as Error);
          setBusy(false);
        }
      }}
    >
      <select value={policy} onChange={(e) => setPolicy(e.target.value)} aria-label="Policy to deploy to">
        {policies.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
            {p.paused ? ' (paused)' : ''}
          </option>
        ))}
      </select>
      <label className="check">
        <input type="checkbox" checked={expedite} onChange={(e) => setExpedite(e.target.checked)} /> Expedite
        (skip deferrals)
      </label>
      <button type="submit" className="btn primary" disabled={busy || !policy} data-testid="deploy">
        {busy ? 'Deploying…' : 'Deploy'}
      </button>
      {error && <ErrorBox error={error} />}
      {policy && <Readiness patchId={patchId} policy={policy} />}
    </form>
  );
}

/** What if: which devices of the policy would take the hotpatch now, and why the others would not. */
function Readiness({ patchId, policy }: { patchId: string; policy: string }) {
  const d = useData((api) => api.readiness(patchId, policy), [patchId, policy], {
    live: (e) => e.kind === 'device' || e.kind === 'policy',
    pollMs: 10_000,
  });
  return (
    <div className="readiness" data-testid="readiness">
      <Loaded d={d}>
        {(r) => (
          <>
            <p>
              <strong>Readiness in {policy}:</strong> {r.counts.eligible} device(s) would take it now,{' '}
              {r.counts.ineligible} not eligible, {r.counts.notApplicable} not applicable.
              {r.counts.eligible === 0 && r.devices.length > 0 && (
                <span className="bad-text"> No device of this policy can take it now.</span>
              )}
            </p>
            {r.devices.length > 0 && (
              <DataTable
                compact
                rows={r.devices}
                rowKey={(x) => x.deviceId}
                rowAttrs={(x) => ({ 'data-device': x.device })}
                columns={[
                  {
                    key: 'device',
                    title: 'Device',
                    render: (x) => <Link to={`/devices/${x.deviceId}`}>{x.device}</Link>,
                  },
                  { key: 'ring', title: 'Ring', render: (x) => x.ring ?? '—' },
                  {
                    key: 'ready',
                    title: 'Ready',
                    render: (x) => (
                      <Badge
                        value={
                          x.readiness === 'eligible'
                            ? 'eligible'
                            : x.readiness === 'ineligible'
                              ? 'ineligible'
                              : 'not-applicable'
                        }
                      />
                    ),
                  },
                  {
                    key: 'why',
                    title: 'Why not / what to do',
                    render: (x) => (
                      <>
                        {x.why}
                        {x.action && <div className="muted small">→ {x.action}</div>}
                      </>
                    ),
                  },
                ]}
              />
            )}
          </>
        )}
      </Loaded>
    </div>
  );
}
