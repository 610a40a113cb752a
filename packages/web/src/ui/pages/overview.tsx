import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { DeploymentView, Report } from '../../api.js';
import { COLORS, Empty, fmtHours, fmtTime, Link, Loaded, PageHead, useData } from '../kit.js';

const COLUMN_LABEL: Record<string, string> = {
  upToDate: 'Up to date',
  hotpatched: 'Hotpatched',
  notUpToDate: 'Not up to date',
  inProgress: 'In progress',
  notReady: 'Not ready',
  paused: 'Paused',
};

export function OverviewPage() {
  const d = useData(
    async (api) => {
      // The fleet's figures are counted by the server: 10,000 devices are not loaded here.
      const [report, devices, deployments] = await Promise.all([
        api.report(),
        api.deviceSummary(),
        api.deployments(),
      ]);
      // Per-device rows of the most recent deployments, for protection over time.
      const views = await Promise.all(deployments.slice(0, 20).map((x) => api.deployment(x.id)));
      return { report, devices, deployments, views };
    },
    [],
    { live: () => true, pollMs: 10_000 },
  );
  return (
    <>
      <PageHead
        title="Overview"
        sub="The fleet's patch state: protection per advisory, exposure, restarts avoided."
      />
      <Loaded d={d}>
        {({ report, devices, deployments, views }) => {
          const avoided = report.restarts.reduce((n, r) => n + r.hotpatchesAppliedWithoutRestart, 0);
          const cadence = report.calendar;
          const open = report.advisories.filter((a) => a.devicesStillExposed > 0 || a.devicesApplied === 0);
          const attention: Array<{ key: string; to: string; what: string; why: string; tone: string }> = [];
          for (const dep of deployments.filter((x) => x.state === 'active')) {
            const c = dep.summary.counts;
            if (c.failed)
              attention.push({
                key: `${dep.id}-f`,
                to: `/deployments/${dep.id}`,
                what: `${dep.patchId} → ${dep.policy}`,
                why: `${c.failed} failed`,
                tone: 'bad',
              });
            if (c.pending)
              attention.push({
                key: `${dep.id}-p`,
                to: `/deployments/${dep.id}`,
                what: `${dep.patchId} → ${dep.policy}`,
                why: `${c.pending} pending (a patched function is running)`,
                tone: 'warn',
              });
            if (c.ineligible)
              attention.push({
                key: `${dep.id}-i`,
                to: `/deployments/${dep.id}`,
                what: `${dep.patchId} → ${dep.policy}`,
                why: `${c.ineligible} ineligible: need the fixed release (restart)`,
                tone: 'warn',
              });
          }
          // The server lists the first devices needing attention and counts them all.
          const deviceItems = devices.ineligible + devices.disconnected;
          let shown = 0;
          for (const dev of devices.attention) {
            if (!dev.eligible)
              attention.push({
                key: `${dev.id}-e`,
                to: `/devices/${dev.id}`,
                what: `${dev.host}/${dev.service}`,
                why: dev.reasons.map((r) => r.message).join('; ') || 'not eligible',
                tone: dev.reasons.some(
                  (r) => r.code === 'NOT_ON_BASELINE' || r.code === 'BASELINE_CODE_MISMATCH',
                )
                  ? 'bad'
                  : 'warn',
              });
            if (!dev.connected)
              attention.push({
                key: `${dev.id}-c`,
                to: `/devices/${dev.id}`,
                what: `${dev.host}/${dev.service}`,
                why: 'disconnected',
                tone: 'muted',
              });
            shown += (dev.eligible ? 0 : 1) + (dev.connected ? 0 : 1);
          }
          const more = attention.length + (deviceItems - shown) - 12;
          return (
            <>
              <section className="kpis">
                <Kpi
                  label="Devices connected"
                  value={`${devices.connected} / ${devices.live}`}
                  testId="kpi-devices"
                />
                <Kpi
                  label="Open advisories"
                  value={String(open.length)}
                  sub={`${report.advisories.length} in the catalog`}
                />
                <Kpi
                  label="Restarts avoided this year"
                  value={String(avoided)}
                  sub="hotpatches applied in memory"
                  testId="kpi-avoided"
                />
                <Kpi
                  label="Restarts a year per device"
                  value={`${cadence.restartsPerYear}`}
                  sub={`instead of ${cadence.monthlyRestartsPerYear} with monthly restart updates`}
                />
              </section>
              <section className="grid2">
                <div className="card">
                  <h2>Protection per advisory</h2>
                  {report.advisories.length === 0 ? (
                    <Empty title="No advisories yet">
                      Publish a hotpatch (hotpatch publish FILE) to see protection here.
                    </Empty>
                  ) : (
                    <ResponsiveContainer width="100%" height={220}>
                      <BarChart data={report.advisories} layout="vertical" margin={{ left: 24, right: 16 }}>
                        <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                        <XAxis type="number" allowDecimals={false} />
                        <YAxis type="category" dataKey="advisory" width={120} />
                        <Tooltip />
                        <Legend />
                        <Bar
                          isAnimationActive={false}
                          dataKey="devicesApplied"
                          name="Protected (hotpatched)"
                          stackId="a"
                          fill={COLORS.applied}
                        />
                        <Bar
                          isAnimationActive={false}
                          dataKey="devicesStillExposed"
                          name="Still exposed"
                          stackId="a"
                          fill={COLORS.failed}
                        />
                      </BarChart>
                    </ResponsiveContainer>
                  )}
                </div>
                <div className="card">
                  <h2>Exposure windows</h2>
                  {report.advisories.length === 0 ? (
                    <Empty title="No exposure measured yet" />
                  ) : (
                    <>
                      <ExposureChart advisories={report.advisories} />
                      <p className="muted small">
                        Time from the advisory (or, without a date, the hotpatch's publication) until devices
                        applied it.
                      </p>
                    </>
                  )}
                </div>
              </section>
              <section className="grid2">
                <div className="card">
                  <h2>Hotpatch report per policy</h2>
                  {report.policies.every((p) => p.devices === 0) ? (
                    <Empty title="No devices in any policy yet">
                      Start a process with the runtime and HOTPATCH_SERVER set.
                    </Empty>
                  ) : (
                    <ResponsiveContainer width="100%" height={200}>
                      <BarChart data={report.policies} layout="vertical" margin={{ left: 24, right: 16 }}>
                        <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                        <XAxis type="number" allowDecimals={false} />
                        <YAxis type="category" dataKey="policy" width={90} />
                        <Tooltip />
                        <Legend />
                        {Object.entries(COLUMN_LABEL).map(([k, label]) => (
                          <Bar
                            isAnimationActive={false}
                            key={k}
                            dataKey={k}
                            name={label}
                            stackId="a"
                            fill={COLORS[k]}
                          />
                        ))}
                      </BarChart>
                    </ResponsiveContainer>
                  )}
                </div>
                <div className="card">
                  <h2>Needs attention</h2>
                  {attention.length === 0 && deviceItems === 0 ? (
                    <Empty title="Nothing needs attention">
                      Every device is eligible, connected and settled.
                    </Empty>
                  ) : (
                    <ul className="attention" data-testid="attention">
                      {attention.slice(0, 12).map((a) => (
                        <li key={a.key} className={a.tone}>
                          <Link to={a.to}>{a.what}</Link> <span className="muted">{a.why}</span>
                        </li>
                      ))}
                      {more > 0 && <li className="muted">and {more} more</li>}
                    </ul>
                  )}
                </div>
              </section>
              <div className="card">
                <h2>Protection over time</h2>
                <ProtectionChart views={views} />
              </div>
            </>
          );
        }}
      </Loaded>
    </>
  );
}

function Kpi({ label, value, sub, testId }: { label: string; value: string; sub?: string; testId?: string }) {
  return (
    <div className="card kpi" data-testid={testId}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{value}</div>
      {sub && <div className="muted small">{sub}</div>}
    </div>
  );
}

function ExposureChart({ advisories }: { advisories: Report['advisories'] }) {
  const rows = advisories.map((a) => ({
    advisory: a.advisory,
    toHotpatch: a.hoursToHotpatch ?? 0,
    p50: a.exposureHours.p50 ?? 0,
    p95: a.exposureHours.p95 ?? 0,
  }));
  const max = Math.max(0, ...rows.flatMap((r) => [r.toHotpatch, r.p95]));
  // Pick a unit people read easily: minutes, hours or days.
  const [unit, per] =
    max < 1 / 60 ? ['s', 1 / 3600] : max < 1 ? ['min', 1 / 60] : max < 72 ? ['h', 1] : ['d', 24];
  const data = rows.map((r) => ({
    advisory: r.advisory,
    toHotpatch: r.toHotpatch / per,
    p50: r.p50 / per,
    p95: r.p95 / per,
  }));
  return (
    <ResponsiveContainer width="100%" height={180}>
      <BarChart data={data} margin={{ left: 0, right: 16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="advisory" />
        <YAxis tickFormatter={(v: number) => `${Number(v.toPrecision(2))} ${unit}`} width={64} />
        <Tooltip formatter={(v) => fmtHours(Number(v) * per)} />
        <Legend />
        <Bar isAnimationActive={false} dataKey="toHotpatch" name="advisory → hotpatch" fill="#adb5bd" />
        <Bar isAnimationActive={false} dataKey="p50" name="→ applied, p50" fill="#1c7ed6" />
        <Bar isAnimationActive={false} dataKey="p95" name="→ applied, p95" fill="#1864ab" />
      </BarChart>
    </ResponsiveContainer>
  );
}

/** Devices running a hotpatch over time: +1 when a device applied it, -1 when its deployment was reverted. */
function ProtectionChart({ views }: { views: DeploymentView[] }) {
  const steps: Array<{ t: number; d: number }> = [];
  for (const v of views)
    for (const r of v.devices) {
      if (!r.appliedAt) continue;
      steps.push({ t: Date.parse(r.appliedAt), d: 1 });
      if (v.deployment.revertedAt) steps.push({ t: Date.parse(v.deployment.revertedAt), d: -1 });
    }
  if (steps.length === 0)
    return <Empty title="No hotpatch applied yet">Devices appear here as they apply hotpatches.</Empty>;
  steps.sort((a, b) => a.t - b.t);
  let n = 0;
  const data = steps.map((s) => ({ t: s.t, protectedDevices: (n += s.d) }));
  data.push({ t: Date.now(), protectedDevices: n });
  const span = (data.at(-1)?.t ?? 0) - (data[0]?.t ?? 0);
  const tick = (t: number) =>
    new Date(t).toLocaleString(
      undefined,
      span < 2 * 86_400_000 ? { timeStyle: 'short' } : { dateStyle: 'short' },
    );
  return (
    <ResponsiveContainer width="100%" height={180}>
      <LineChart data={data} margin={{ left: 0, right: 16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={tick} />
        <YAxis allowDecimals={false} />
        <Tooltip labelFormatter={(t) => fmtTime(new Date(Number(t)).toISOString())} />
        <Line
          isAnimationActive={false}
          type="stepAfter"
          dataKey="protectedDevices"
          name="Devices hotpatched"
          stroke={COLORS.applied}
          strokeWidth={2}
          dot={false}
        />
      </LineChart>
    </ResponsiveContainer>
  );
}
