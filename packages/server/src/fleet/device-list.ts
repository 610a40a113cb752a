/** CSV of device lists (pure); the list itself is SQL (store/device-query.ts). */
import type { DeviceView } from '@hotpatch/protocol';

/** What the CSV export shows of a device (read from the status columns, no facts). */
export type CsvDevice = Pick<
  DeviceView,
  'id' | 'host' | 'service' | 'policy' | 'ring' | 'connected' | 'lastSeen' | 'node'
> & {
  status: Pick<DeviceView['status'], 'label' | 'cves' | 'action'>;
};

/** RFC 4180 field: quoted when it holds a comma, quote or line break; formulas neutralised for spreadsheets. */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function devicesCsv(devices: readonly CsvDevice[]): string {
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
