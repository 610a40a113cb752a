/** `hotpatch devices`: one compact line per device with its update status (what needs attention first). */
import {
  DEVICE_SORT_KEYS,
  DEVICE_STATUS_KINDS,
  type DeviceListItem,
  type DeviceListResponse,
} from '@hotpatch/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { api, type ConnOptions, intArg, print, table, withConn } from './client.js';

function statusArg(value: string): string {
  for (const k of value.split(','))
    if (!(DEVICE_STATUS_KINDS as readonly string[]).includes(k))
      throw new InvalidArgumentError(
        `expected one or more of ${DEVICE_STATUS_KINDS.join(', ')} (comma-separated)`,
      );
  return value;
}

/** The components worth a glance: vulnerable or hotpatched ones (the server picks them), then how many others. */
export function componentsSummary(d: Pick<DeviceListItem, 'notable' | 'otherComponents'>): string {
  const parts = d.notable.map((c) => `${c.name}@${c.version}${c.vulnerable.length ? ' (vulnerable)' : ''}`);
  const rest = d.otherComponents;
  if (rest > 0) parts.push(`+${rest} other${rest === 1 ? '' : 's'}`);
  return parts.join(' ') || '-';
}

export function devicesTable(r: DeviceListResponse): string {
  const rows = [
    ['DEVICE', 'POLICY/RING', 'STATE', 'STATUS', 'COMPONENTS'],
    ...r.devices.map((d) => [
      `${d.host}/${d.service}`,
      `${d.policy ?? '-'}/${d.ring ?? '-'}`,
      d.revoked ? 'revoked' : d.connected ? 'connected' : 'offline',
      d.status.label,
      componentsSummary(d),
    ]),
  ];
  const shown =
    r.devices.length < r.total
      ? `\n${r.devices.length} of ${r.total} devices (--limit/--offset to page)`
      : '';
  return `${table(rows)}${shown}`;
}

export function registerDevicesCommand(program: Command): void {
  withConn(
    program
      .command('devices')
      .summary('List devices with their update status (Up to date, Not up to date: CVE…, Hotpatched, …)'),
  )
    .description(
      'List enrolled devices, one line each: policy/ring, connection, update status (known advisories against the ' +
        'loaded packages; see `hotpatch advisories`) and the vulnerable or hotpatched components. Worst status first.',
    )
    .addOption(
      new Option('--sort <key>', 'sort key, -key for descending')
        .choices([...DEVICE_SORT_KEYS, ...DEVICE_SORT_KEYS.map((k) => `-${k}`)])
        .default('status'),
    )
    .option(
      '--status <kinds>',
      `only these statuses, comma-separated (${DEVICE_STATUS_KINDS.join(', ')})`,
      statusArg,
    )
    .option('--search <text>', 'only devices whose name, labels, policy or CVEs contain this')
    .option('--limit <n>', 'at most this many devices', intArg)
    .option('--offset <n>', 'skip this many devices', intArg)
    .option('--json', 'machine-readable output (the API response)')
    .action(
      async (
        o: ConnOptions & {
          sort: string;
          status?: string;
          search?: string;
          limit?: number;
          offset?: number;
          json?: boolean;
        },
      ) => {
        const q = new URLSearchParams({ sort: o.sort });
        if (o.status) q.set('status', o.status);
        if (o.search) q.set('q', o.search);
        if (o.limit !== undefined) q.set('limit', String(o.limit));
        if (o.offset !== undefined) q.set('offset', String(o.offset));
        const r = (await api(o, 'GET', `/v1/devices?${q}`)) as unknown as DeviceListResponse;
        print(o.json, r, () => (r.devices.length ? devicesTable(r) : 'no devices'));
      },
    );
}
