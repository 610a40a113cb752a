import { Empty, Loaded, PageHead, useData } from '../kit.js';

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
                  <table className="table compact">
                    <thead>
                      <tr>
                        <th>Release</th>
                        <th>Kind</th>
                        {c.next[0]?.rings.map((r) => (
                          <th key={r.ring}>Ring {r.ring}</th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {c.next.slice(0, 6).map((r) => (
                        <tr key={r.date}>
                          <td>{r.date}</td>
                          <td>
                            <span className={`badge ${r.kind === 'baseline' ? 'warn' : 'good'}`}>
                              {r.kind}
                              {r.restart ? ' · restart' : ''}
                            </span>
                          </td>
                          {r.rings.map((x) => (
                            <td key={x.ring}>{x.date}</td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ))}
            </>
          );
        }}
      </Loaded>
    </>
  );
}
