/**
 * Vulnerabilities: known advisories (OSV), the devices each affects and how to fix them —
 * deploy the hotpatch, or build one (the command), or move to the fixed release (restart).
 */
import { useState } from 'react';
import type { AdvisoryView } from '../../api.js';
import { Badge, Empty, ErrorBox, Link, Loaded, PageHead, useData, useSession } from '../kit.js';
import { DataTable } from '../table.js';

export function AdvisoriesPage() {
  const d = useData((api) => api.advisories(), [], { live: (e) => e.kind !== 'hello', pollMs: 10_000 });
  const { can } = useSession();
  return (
    <>
      <PageHead
        title="Vulnerabilities"
        sub="Known advisories (OSV format: GitHub Advisory Database, osv.dev) matched against every device's loaded packages."
      >
        {can('admin') && <ImportButton onDone={d.reload} />}
      </PageHead>
      <Loaded d={d}>
        {(advisories) =>
          advisories.length === 0 ? (
            <Empty title="No advisories imported">
              Import OSV records (a .json file or an export) here or with{' '}
              <code>hotpatch advisories import PATH</code>; devices running an affected version then show "Not
              up to date".
            </Empty>
          ) : (
            <DataTable
              testId="advisories"
              rows={advisories}
              rowKey={(a) => a.id}
              rowAttrs={(a) => ({ 'data-advisory': a.ids[0] ?? a.id })}
              columns={[
                {
                  key: 'id',
                  title: 'Advisory',
                  render: (a) => (
                    <>
                      <strong className="mono">{a.ids[0]}</strong>
                      <div className="muted small">{a.ids.slice(1).join(', ')}</div>
                      <div className="small">{a.summary}</div>
                    </>
                  ),
                },
                {
                  key: 'pkg',
                  title: 'Packages',
                  render: (a) => <span className="mono">{a.packages.join(', ')}</span>,
                },
                { key: 'affected', title: 'Affected devices', render: (a) => <Affected a={a} /> },
                { key: 'fix', title: 'Fix', width: '34%', render: (a) => <Fix a={a} /> },
              ]}
            />
          )
        }
      </Loaded>
    </>
  );
}

function Affected({ a }: { a: AdvisoryView }) {
  if (a.affected.length === 0) return <Badge value="up-to-date" label="none" />;
  return (
    <>
      {a.affected.map((x) => (
        <div key={x.deviceId} className="small">
          <Link to={`/devices/${x.deviceId}`}>{x.device}</Link>{' '}
          <span className="mono">
            {x.package}@{x.version}
          </span>{' '}
          <Badge value={x.remedy === 'hotpatch available' ? 'scheduled' : 'failed'} label={x.remedy} />
        </div>
      ))}
    </>
  );
}

function Fix({ a }: { a: AdvisoryView }) {
  return (
    <>
      {a.hotpatches.map((h) => (
        <div key={h.patchId}>
          Hotpatch <Link to={`/catalog/${h.patchId}`}>{h.patchId}</Link>{' '}
          <span className="muted small">for {h.target}</span>
        </div>
      ))}
      {a.buildCommand && (
        <>
          <div className="small">No hotpatch yet for some affected versions. Build one:</div>
          <pre className="command" data-testid="build-command">
            {a.buildCommand}
          </pre>
        </>
      )}
      {a.affected.some((x) => x.remedy === 'baseline needed' && x.fixedIn) && (
        <div className="small muted">
          Devices that cannot take a hotpatch: deploy{' '}
          {[...new Set(a.affected.filter((x) => x.fixedIn).map((x) => `${x.package}@${x.fixedIn}`))].join(
            ', ',
          )}{' '}
          (restart).
        </div>
      )}
    </>
  );
}

function ImportButton({ onDone }: { onDone: () => void }) {
  const { api } = useSession();
  const [msg, setMsg] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  return (
    <span className="action">
      <label className="btn">
        Import OSV…
        <input
          type="file"
          accept=".json,application/json"
          multiple
          hidden
          aria-label="Import OSV files"
          onChange={async (e) => {
            setError(null);
            setMsg(null);
            try {
              const records: unknown[] = [];
              for (const f of Array.from(e.target.files ?? [])) {
                const data = JSON.parse(await f.text()) as unknown;
                if (Array.isArray(data)) records.push(...data);
                else if (
                  data &&
                  typeof data === 'object' &&
                  Array.isArray((data as { advisories?: unknown }).advisories)
                )
                  records.push(...(data as { advisories: unknown[] }).advisories);
                else records.push(data);
              }
              const r = await api.importAdvisories(records);
              setMsg(`${r.added.length} added, ${r.updated.length} updated, ${r.unchanged.length} unchanged`);
              onDone();
            } catch (err) {
              setError(err as Error);
            }
            e.target.value = '';
          }}
        />
      </label>
      {msg && <span className="muted small"> {msg}</span>}
      {error && <ErrorBox error={error} />}
    </span>
  );
}
