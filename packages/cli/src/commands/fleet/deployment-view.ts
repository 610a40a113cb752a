/** Deployment views in the terminal: progress line, per-device table, following the long poll. */
import { HotpatchError } from '@hotpatch/core';
import { type DeploymentView as ProtocolDeploymentView, TERMINAL_STATES } from '@hotpatch/protocol';
import { api, type ConnOptions, table } from './client.js';

/** A deployment as the API answers it (the protocol's view; the long poll adds a fingerprint). */
export type DeploymentView = ProtocolDeploymentView & { fingerprint?: string };

export function progressLine(v: Pick<DeploymentView, 'deployment' | 'summary'>): string {
  const c = Object.entries(v.summary.counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `${v.deployment.id} ${v.deployment.phase ?? v.deployment.state}: ${v.summary.total} devices${c ? ` (${c})` : ''}`;
}

export function deploymentText(v: DeploymentView): string {
  const rows = [['DEVICE', 'RING', 'STATE', 'DETAIL']];
  for (const d of v.devices)
    rows.push([
      d.device,
      d.ring ?? '-',
      d.state,
      [d.reason, d.action ? `-> ${d.action}` : null].filter(Boolean).join(' '),
    ]);
  return `${progressLine(v)}\npatch ${v.deployment.patchId}, policy ${v.deployment.policy}${v.deployment.revertReason ? `, reverted: ${v.deployment.revertReason}` : ''}\n${table(rows)}`;
}

/** `deploy --wait` stops when every device settled or waits for a later ring (or a paused policy). */
export function nothingDueNow(v: DeploymentView): boolean {
  const now = Date.now();
  return v.devices.every(
    (d) =>
      (TERMINAL_STATES as ReadonlySet<string>).has(d.state) ||
      (d.state === 'scheduled' &&
        ((d.scheduledFor && Date.parse(d.scheduledFor) > now) || d.reason === 'policy paused')),
  );
}

/** Follows a deployment through the server's long poll until every device settled (or timeout). */
export async function follow(
  opts: ConnOptions,
  id: string,
  timeoutS: number,
  done: (v: DeploymentView) => boolean,
): Promise<DeploymentView> {
  const end = Date.now() + timeoutS * 1000;
  const tty = process.stderr.isTTY;
  let since: string | undefined;
  let last = '';
  for (;;) {
    const q =
      since === undefined
        ? ''
        : `?since=${encodeURIComponent(since)}&timeoutMs=${Math.max(0, Math.min(10_000, end - Date.now()))}`;
    const v = (await api(
      opts,
      'GET',
      `/v1/deployments/${encodeURIComponent(id)}/wait${q}`,
    )) as unknown as DeploymentView;
    const line = progressLine(v);
    if (line !== last) {
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (done(v)) {
      if (tty) process.stderr.write('\n');
      return v;
    }
    if (Date.now() >= end) {
      if (tty) process.stderr.write('\n');
      throw new HotpatchError('E_PROCESS', `still waiting after ${timeoutS}s: ${line}`, 3);
    }
    since = v.fingerprint;
  }
}
