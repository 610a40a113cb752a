/** The device page's tables: patch level per component and the instances (restarts). */
import type { Bundle, Component, Instance } from '../../api.js';
import { Badge, fmtAgo, fmtTime } from '../kit.js';
import type { Column } from '../table.js';

/** The patch level: baseline on disk, running version with its hotpatches, the fixed release. */
export function componentColumns(bundles: readonly Bundle[]): Column<Component>[] {
  return [
    {
      key: 'component',
      title: 'Component',
      render: (c) => (
        <>
          {c.name}
          {c.vulnerable.length > 0 && (
            <div className="small bad-text">
              {c.vulnerable.join(', ')} — {c.remedy}
            </div>
          )}
        </>
      ),
    },
    { key: 'baseline', title: 'Baseline (on disk)', className: 'mono', render: (c) => c.baseline },
    {
      key: 'running',
      title: 'Running',
      className: 'mono',
      render: (c) => (
        <>
          <strong data-testid="version-id">{c.version}</strong>
          {c.patches.map((p) => (
            <div key={p.patchId} className="small muted">
              {p.patchId} <Badge value={p.state} />
            </div>
          ))}
        </>
      ),
    },
    {
      key: 'fixed',
      title: 'Fixed release',
      className: 'mono',
      render: (c) =>
        bundles.filter((b) => b.targetName === c.name && b.targetBaseline === c.baseline && b.fixedIn).at(-1)
          ?.fixedIn ?? '—',
    },
  ];
}

export const INSTANCE_COLUMNS: Column<Instance>[] = [
  { key: 'pid', title: 'pid', className: 'mono', render: (i) => i.pid },
  { key: 'started', title: 'Started', render: (i) => fmtTime(i.started_at) },
  { key: 'node', title: 'Node', render: (i) => i.node ?? '—' },
  { key: 'seen', title: 'Last seen', render: (i) => fmtAgo(i.last_seen) },
];
