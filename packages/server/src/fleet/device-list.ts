/** Paging, sorting, filtering and CSV of device views (pure): the list the dashboard and CLI page through. */
import { DEVICE_STATUS_KINDS, type DeviceListQuery, type DeviceView } from '@hotpatch/protocol';

const STATUS_RANK = new Map<string, number>(DEVICE_STATUS_KINDS.map((k, i) => [k, i]));

const name = (d: DeviceView) => `${d.host}/${d.service}`;

const COMPARE: Record<string, (a: DeviceView, b: DeviceView) => number> = {
  status: (a, b) => (STATUS_RANK.get(a.status.kind) ?? 99) - (STATUS_RANK.get(b.status.kind) ?? 99),
  name: (a, b) => name(a).localeCompare(name(b)),
  host: (a, b) => a.host.localeCompare(b.host),
  service: (a, b) => a.service.localeCompare(b.service),
  policy: (a, b) => (a.policy ?? '').localeCompare(b.policy ?? ''),
  lastSeen: (a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? ''),
};

function matches(d: DeviceView, q: string): boolean {
  const needle = q.toLowerCase();
  const hay = [
    d.id,
    d.host,
    d.service,
    d.policy ?? '',
    d.status.label,
    ...Object.entries(d.labels).flat(),
    ...d.status.cves,
  ];
  return hay.some((h) => h.toLowerCase().includes(needle));
}

export function listPage(all: readonly DeviceView[], query: DeviceListQuery) {
  const counts = Object.fromEntries(DEVICE_STATUS_KINDS.map((k) => [k, 0])) as Record<string, number>;
  for (const d of all) counts[d.status.kind] = (counts[d.status.kind] ?? 0) + 1;
  const kinds = query.status ? new Set(query.status.split(',')) : null;
  let rows = all.filter((d) => (!kinds || kinds.has(d.status.kind)) && (!query.q || matches(d, query.q)));
  const key = (query.sort ?? 'name').replace(/^-/, '');
  const dir = query.sort?.startsWith('-') ? -1 : 1;
  const cmp = COMPARE[key] ?? COMPARE.name;
  // Ties break by name so that pages are stable between requests.
  rows = [...rows].sort((a, b) => dir * (cmp?.(a, b) ?? 0) || name(a).localeCompare(name(b)));
  const offset = query.offset ?? 0;
  const devices = rows.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
  return { devices, total: rows.length, counts };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; formulas neutralised for spreadsheets. */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function devicesCsv(devices: readonly DeviceView[]): string {
  return toCsv(
    ['id', 'host', 'service', 'policy', 'ring', 'status', 'cves', 'action', 'connected', 'lastSeen', 'node'],
    devices.map((d) => [
      d.id,
      d.host,
      d.service,
      d.policy ?? '',
      d.ring ?? '',
      d.status.label,
      d.status.cves.join(' '),
      d.status.action,
      String(d.connected),
      d.lastSeen ?? '',
      d.node ?? '',
    ]),
  );
}
