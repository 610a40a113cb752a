import { useState } from 'react';
import type { Policy, PolicyInput, Ring } from '../../api.js';
import {
  Action,
  Badge,
  Empty,
  ErrorBox,
  fmtTime,
  Loaded,
  labelsText,
  PageHead,
  useData,
  useSession,
} from '../kit.js';
import { type Column, DataTable } from '../table.js';

export function PoliciesPage() {
  const { can, api } = useSession();
  const d = useData((a) => a.policies(), [], { live: (e) => e.kind === 'policy' });
  const [editing, setEditing] = useState<Policy | 'new' | null>(null);
  return (
    <>
      <PageHead
        title="Policies & rings"
        sub="A policy allows hotpatch (or not), groups devices into rings by label with deferral days, sets a deadline and an automatic rollback rule."
      >
        {can('admin') && editing === null && (
          <button
            type="button"
            className="btn primary"
            onClick={() => setEditing('new')}
            data-testid="new-policy"
          >
            New policy
          </button>
        )}
      </PageHead>
      {editing !== null && (
        <PolicyForm
          initial={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            d.reload();
          }}
        />
      )}
      <Loaded d={d}>
        {(policies) =>
          policies.length === 0 ? (
            <Empty title="No policies">Devices follow the tenant default policy once one exists.</Empty>
          ) : (
            <div className="cards" data-testid="policies">
              {policies.map((p) => (
                <div className="card" key={p.name} data-policy={p.name}>
                  <div className="card-head">
                    <h2>
                      {p.name} {p.isDefault && <Badge value="scheduled" label="tenant default" />}{' '}
                      {p.paused && <Badge value="paused" />}
                    </h2>
                    <div className="page-actions">
                      {can('operator') && (
                        <Action
                          run={() => api.pausePolicy(p.name, !p.paused)}
                          onDone={d.reload}
                          testId={`${p.paused ? 'resume' : 'pause'}-${p.name}`}
                        >
                          {p.paused ? 'Resume' : 'Pause'}
                        </Action>
                      )}
                      {can('admin') && (
                        <button type="button" className="btn" onClick={() => setEditing(p)}>
                          Edit
                        </button>
                      )}
                    </div>
                  </div>
                  <dl className="kv inline">
                    <dt>Hotpatch</dt>
                    <dd>
                      {p.allowHotpatch
                        ? 'allowed (apply without restart)'
                        : 'not allowed: fixed releases only'}
                    </dd>
                    <dt>Deadline</dt>
                    <dd>{p.deadlineDays} days</dd>
                    <dt>Rollback</dt>
                    <dd>
                      {[
                        p.rollback.maxFailures ? `${p.rollback.maxFailures} failed devices` : null,
                        p.rollback.maxErrors ? `${p.rollback.maxErrors} errors from patched functions` : null,
                      ]
                        .filter(Boolean)
                        .join(' or ') || 'none'}
                    </dd>
                    <dt>Updated</dt>
                    <dd>{fmtTime(p.updatedAt)}</dd>
                  </dl>
                  <DataTable compact rows={p.rings} columns={RING_COLUMNS} rowKey={(r) => r.name} />
                </div>
              ))}
            </div>
          )
        }
      </Loaded>
    </>
  );
}

const parseSelector = (s: string): Record<string, string> =>
  Object.fromEntries(
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map((x) => {
        const i = x.indexOf('=');
        return i < 0 ? [x, ''] : [x.slice(0, i).trim(), x.slice(i + 1).trim()];
      }),
  );

const RING_COLUMNS: Column<Ring>[] = [
  { key: 'name', title: 'Ring', render: (r) => r.name },
  {
    key: 'labels',
    title: 'Devices with labels',
    className: 'mono small',
    render: (r) => labelsText(r.selector) || 'every device',
  },
  { key: 'deferral', title: 'Deferral', render: (r) => `${r.deferralDays} days` },
];

interface RingDraft {
  name: string;
  selector: string;
  deferralDays: string;
}

function PolicyForm({ initial, onDone }: { initial: Policy | null; onDone: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState(initial?.name ?? '');
  const [allow, setAllow] = useState(initial?.allowHotpatch ?? true);
  const [deadline, setDeadline] = useState(String(initial?.deadlineDays ?? 7));
  const [maxFailures, setMaxFailures] = useState(String(initial?.rollback.maxFailures ?? ''));
  const [maxErrors, setMaxErrors] = useState(String(initial?.rollback.maxErrors ?? ''));
  const [isDefault, setIsDefault] = useState(initial?.isDefault ?? false);
  const [rings, setRings] = useState<RingDraft[]>(
    initial?.rings.map((r) => ({
      name: r.name,
      selector: labelsText(r.selector),
      deferralDays: String(r.deferralDays),
    })) ?? [
      { name: 'canary', selector: 'ring=canary', deferralDays: '0' },
      { name: 'broad', selector: '', deferralDays: '3' },
    ],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const setRing = (i: number, patch: Partial<RingDraft>) =>
    setRings(rings.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <form
      className="card form"
      data-testid="policy-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        const body: PolicyInput = {
          name,
          allowHotpatch: allow,
          rings: rings.map(
            (r): Ring => ({
              name: r.name.trim(),
              selector: parseSelector(r.selector),
              deferralDays: Number(r.deferralDays),
            }),
          ),
          deadlineDays: Number(deadline),
          rollback: {
            ...(maxFailures ? { maxFailures: Number(maxFailures) } : {}),
            ...(maxErrors ? { maxErrors: Number(maxErrors) } : {}),
          },
          isDefault,
        };
        try {
          if (initial) {
            const { name: _n, ...rest } = body;
            await api.updatePolicy(initial.name, rest);
          } else await api.createPolicy(body);
          onDone();
        } catch (err) {
          setError(err as Error);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{initial ? `Edit policy ${initial.name}` : 'New policy'}</h2>
      <div className="form-grid">
        <label>
          Name
          <input
            name="name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={!!initial}
            required
          />
        </label>
        <label>
          Deadline (days)
          <input
            name="deadline"
            type="number"
            min={0}
            max={365}
            value={deadline}
            onChange={(e) => setDeadline(e.target.value)}
          />
        </label>
        <label>
          Roll back after N failed devices
          <input
            name="maxFailures"
            type="number"
            min={1}
            value={maxFailures}
            onChange={(e) => setMaxFailures(e.target.value)}
            placeholder="off"
          />
        </label>
        <label>
          …or N errors from patched functions
          <input
            name="maxErrors"
            type="number"
            min={1}
            value={maxErrors}
            onChange={(e) => setMaxErrors(e.target.value)}
            placeholder="off"
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            name="allowHotpatch"
            checked={allow}
            onChange={(e) => setAllow(e.target.checked)}
          />{' '}
          Allow hotpatch (apply without restart)
        </label>
        <label className="check">
          <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} />{' '}
          Tenant default (devices in no policy)
        </label>
      </div>
      <h3>Rings</h3>
      <DataTable
        compact
        className="rings"
        rows={rings}
        rowKey={(_, i) => String(i)}
        columns={[
          {
            key: 'name',
            title: 'Name',
            render: (r, i) => (
              <input
                aria-label={`Ring ${i + 1} name`}
                value={r.name}
                onChange={(e) => setRing(i, { name: e.target.value })}
                required
              />
            ),
          },
          {
            key: 'selector',
            title: 'Label selector (k=v, …; empty: every device)',
            render: (r, i) => (
              <input
                aria-label={`Ring ${i + 1} selector`}
                value={r.selector}
                onChange={(e) => setRing(i, { selector: e.target.value })}
              />
            ),
          },
          {
            key: 'deferral',
            title: 'Deferral (days)',
            render: (r, i) => (
              <input
                aria-label={`Ring ${i + 1} deferral`}
                type="number"
                min={0}
                max={365}
                value={r.deferralDays}
                onChange={(e) => setRing(i, { deferralDays: e.target.value })}
              />
            ),
          },
          {
            key: 'remove',
            title: '',
            render: (_, i) =>
              rings.length > 1 && (
                <button
                  type="button"
                  className="link"
                  onClick={() => setRings(rings.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              ),
          },
        ]}
      />
      <button
        type="button"
        className="link"
        onClick={() =>
          setRings([...rings, { name: `ring${rings.length + 1}`, selector: '', deferralDays: '0' }])
        }
      >
        + Add ring
      </button>
      {error && <ErrorBox error={error} />}
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={busy} data-testid="save-policy">
          {busy ? 'Saving…' : initial ? 'Save' : 'Create policy'}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
