/**
 * DataTable: the one table the pages share (header, sortable columns, empty state, row attributes)
 * and a Pager for server-side paging. Sorting is the caller's: the server sorts 10,000 devices,
 * small lists sort in the page with sortRows.
 */
import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  title: ReactNode;
  render: (row: T, index: number) => ReactNode;
  /** Sort key sent to whoever sorts; absent: not sortable. */
  sort?: string;
  className?: string;
  width?: string;
}

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  sort,
  onSort,
  testId,
  rowAttrs,
  compact,
  className,
}: {
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T, index: number) => string;
  /** Current sort: key or -key. */
  sort?: string;
  onSort?: (sort: string) => void;
  testId?: string;
  rowAttrs?: (row: T) => Record<string, string>;
  compact?: boolean;
  /** Extra table classes (page styles such as the ring editor's inputs). */
  className?: string;
}) {
  const active = sort?.replace(/^-/, '');
  const desc = sort?.startsWith('-') ?? false;
  return (
    <div className="table-wrap">
      <table
        className={['table', compact && 'compact', className].filter(Boolean).join(' ')}
        data-testid={testId}
      >
        <thead>
          <tr>
            {columns.map((c) => {
              const on = c.sort !== undefined && c.sort === active;
              return (
                <th
                  key={c.key}
                  style={c.width ? { width: c.width } : undefined}
                  aria-sort={on ? (desc ? 'descending' : 'ascending') : undefined}
                >
                  {c.sort && onSort ? (
                    <button
                      type="button"
                      className="th-sort"
                      onClick={() => onSort(on && !desc ? `-${c.sort}` : (c.sort as string))}
                    >
                      {c.title}
                      <span className="muted">{on ? (desc ? ' ▼' : ' ▲') : ''}</span>
                    </button>
                  ) : (
                    c.title
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={rowKey(r, i)} {...(rowAttrs?.(r) ?? {})}>
              {columns.map((c) => (
                <td key={c.key} className={c.className}>
                  {c.render(r, i)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Sorts in the page (small lists): by a key function per sort key, -key descending. */
export function sortRows<T>(
  rows: readonly T[],
  sort: string,
  keys: Record<string, (r: T) => string | number>,
): T[] {
  const k = keys[sort.replace(/^-/, '')];
  if (!k) return [...rows];
  const dir = sort.startsWith('-') ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = k(a);
    const y = k(b);
    return (
      dir * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)))
    );
  });
}

export function Pager({
  offset,
  limit,
  total,
  onPage,
}: {
  offset: number;
  limit: number;
  total: number;
  onPage: (offset: number) => void;
}) {
  if (total <= limit && offset === 0) return null;
  const last = Math.min(total, offset + limit);
  return (
    <div className="pager" data-testid="pager">
      <span className="muted">
        {total === 0 ? 0 : offset + 1}–{last} of {total}
      </span>
      <button
        type="button"
        className="btn"
        disabled={offset === 0}
        onClick={() => onPage(Math.max(0, offset - limit))}
      >
        Previous
      </button>
      <button type="button" className="btn" disabled={last >= total} onClick={() => onPage(offset + limit)}>
        Next
      </button>
    </div>
  );
}

/** Saves text as a file (CSV exports). */
export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** RFC 4180 CSV in the browser (reports built from several API calls). */
export function csv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const field = (v: string | number) => {
    const s = String(v);
    const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return `${[header, ...rows].map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;
}
