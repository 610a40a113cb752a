import { useState } from 'react';
import { Empty, fmtTime, Loaded, PageHead, useData } from '../kit.js';

export function AuditPage() {
  const d = useData((api) => api.audit(500), [], { live: (e) => e.kind !== 'state' && e.kind !== 'hello' });
  const [q, setQ] = useState('');
  return (
    <>
      <PageHead title="Audit log" sub="Every change, who made it and when (newest first).">
        <input
          type="search"
          placeholder="Filter actor, action, subject…"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="Filter audit log"
        />
      </PageHead>
      <Loaded d={d}>
        {(entries) => {
          const shown = entries.filter((e) =>
            `${e.actor} ${e.action} ${e.subject} ${JSON.stringify(e.detail)}`
              .toLowerCase()
              .includes(q.toLowerCase()),
          );
          return shown.length === 0 ? (
            <Empty title={entries.length === 0 ? 'Nothing recorded yet' : 'No entry matches'} />
          ) : (
            <table className="table" data-testid="audit">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Subject</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.id}>
                    <td className="muted nowrap">{fmtTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td className="mono small">{e.subject}</td>
                    <td className="mono small detail">
                      {Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Loaded>
    </>
  );
}
