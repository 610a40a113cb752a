import { useState } from 'react';
import type { AuditEntry } from '../../api.js';
import { Empty, fmtTime, Loaded, PageHead, useData } from '../kit.js';
import { type Column, DataTable } from '../table.js';

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
            <DataTable testId="audit" rows={shown} columns={COLUMNS} rowKey={(e) => String(e.id)} />
          );
        }}
      </Loaded>
    </>
  );
}

const COLUMNS: Column<AuditEntry>[] = [
  { key: 'when', title: 'When', className: 'muted nowrap', render: (e) => fmtTime(e.at) },
  { key: 'actor', title: 'Actor', render: (e) => e.actor },
  { key: 'action', title: 'Action', render: (e) => <code>{e.action}</code> },
  { key: 'subject', title: 'Subject', className: 'mono small', render: (e) => e.subject },
  {
    key: 'detail',
    title: 'Detail',
    className: 'mono small detail',
    render: (e) => (Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''),
  },
];
