import type { PolicyCalendar } from '../../api.js';
import { Empty, Loaded, PageHead, useData } from '../kit.js';
import { type Column, DataTable } from '../table.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function CalendarPage() {
  const d = useData(
    async (api) => {
      const policies = await api.policies();
      return Promise.all(
        policies.map((p) => api.calendar(p.name, 12).then((c) => ({ ...c, paused: p.paused }))),
      );
    },
    [],
    { live: (e) => e.kind === 'policy' },
  );
  return (
    <>
      <PageHead
        title="Calendar"
        sub="Baseline months ship a cumulative release with a restart; the months between ship hotpatches in memory; out-of-band fixes may ship any day."
      />
      <Loaded d={d}>
        {(cals) => {
          const first = cals[0];
          if (!first)
            return <Empty title="No policies yet">Create a policy to see its release dates per ring.</Empty>;
          return (
            <>
              <div className="card">
                <h2>Next 12 months</h2>
                <div className="months" data-testid="months">
                  {first.next.map((r) => {
                    const m = Number(r.date.slice(5, 7));
                    return (
                      <div key={r.date} className={`month ${r.kind}`}>
                        <div className="month-name">
                          {MONTHS[m - 1]} {r.date.slice(0, 4)}
                        </div>
                        <div className="month-kind">
                          {r.kind === 'baseline' ? 'Baseline (restart)' : 'Hotpatch (no restart)'}
                        </div>
                        <div className="muted small">release {r.date}</div>
                      </div>
                    );
                  })}
                </div>
                <p className="muted small">
                  {first.restartsPerYear} restarts a year instead of {first.monthlyRestartsPerYear} with
                  monthly restart updates: {first.restartsAvoidedPerYear} avoided per device.
                </p>
              </div>
              {cals.map((c) => (
                <div className="card" key={c.policy}>
                  <h2>
                    {c.policy} {c.paused && <span className="badge warn">paused</span>}
                  </h2>
                  <DataTable
                    compact
                    rows={c.next.slice(0, 6)}
                    columns={releaseColumns(c.next[0]?.rings ?? [])}
                    rowKey={(r) => r.date}
                  />
                </div>
              ))}
            </>
          );
        }}
      </Loaded>
    </>
  );
}

type Release = PolicyCalendar['next'][number];

/** Release and kind, then one column per ring of the policy (rings come from the first release). */
function releaseColumns(rings: Release['rings']): Column<Release>[] {
  return [
    { key: 'date', title: 'Release', render: (r) => r.date },
    {
      key: 'kind',
      title: 'Kind',
      render: (r) => (
        <span className={`badge ${r.kind === 'baseline' ? 'warn' : 'good'}`}>
          {r.kind}
          {r.restart ? ' · restart' : ''}
        </span>
      ),
    },
    ...rings.map(
      (ring, i): Column<Release> => ({
        key: `ring-${ring.ring}`,
        title: `Ring ${ring.ring}`,
        render: (r) => r.rings[i]?.date,
      }),
    ),
  ];
}
