/**
 * A device's update status, Autopatch-style, from what the server knows (pure, no I/O): known
 * advisories affecting its loaded packages, hotpatches applied, deployments reaching it, its
 * policy and eligibility. One function so that the list, the device page, the CLI and reports
 * never disagree.
 */
import { type DeviceStatus, reasonInWords } from '@hotpatch/protocol';
import { reasonsInWords } from './bundle-eligibility.js';

/** One known advisory still affecting one loaded package (not mitigated by an applied hotpatch). */
export interface Finding {
  /** The advisory's ids, CVE first. */
  ids: readonly string[];
  name: string;
  version: string;
  /** The release that fixes it (a baseline to move to, with a restart), if the advisory names one. */
  fixedIn: string | null;
  /** A hotpatch in the catalog for this package version and advisory, and whether this device may take it. */
  hotpatch: { patchId: string; eligible: boolean; why: string } | null;
}

export interface StatusInput {
  revoked: boolean;
  /** Device-level ineligibility (core's deviceReasons), "CODE: message". */
  reasons: readonly { code: string; message: string }[];
  policyPaused: boolean;
  findings: readonly Finding[];
  /** Targets carrying an applied hotpatch: name and hotpatch version (`1.2.5+hp.1`). */
  hotpatched: readonly { name: string; version: string }[];
  /** This device's row in every active deployment of its policy. */
  deployments: readonly { patchId: string; state: string; reason: string | null }[];
}

const IN_PROGRESS = new Set(['scheduled', 'applying', 'pending']);

function ids(findings: readonly Finding[]): string {
  const all = [...new Set(findings.map((f) => f.ids[0] ?? '?'))];
  return all.length > 3 ? `${all.slice(0, 3).join(', ')} +${all.length - 3} more` : all.join(', ');
}

function notUpToDate(input: StatusInput, cves: string[]): DeviceStatus {
  const patchable = input.findings.filter((f) => f.hotpatch?.eligible);
  const baseline = input.findings.filter((f) => !f.hotpatch?.eligible);
  const parts: string[] = [];
  if (patchable.length) parts.push(`${ids(patchable)} — hotpatch available`);
  if (baseline.length) parts.push(`${ids(baseline)} — baseline needed`);
  const actions: string[] = [];
  for (const f of patchable) actions.push(`deploy hotpatch ${f.hotpatch?.patchId}`);
  for (const f of baseline) {
    const to = f.fixedIn ? `${f.name}@${f.fixedIn}` : `a fixed release of ${f.name}`;
    const why = f.hotpatch ? ` (hotpatch ${f.hotpatch.patchId}: ${f.hotpatch.why})` : ' (no hotpatch yet)';
    actions.push(`deploy ${to} with a restart${why}`);
  }
  return {
    kind: 'not-up-to-date',
    label: `Not up to date: ${parts.join('; ')}`,
    cves,
    action: [...new Set(actions)].join('; '),
  };
}

export function deviceStatus(input: StatusInput): DeviceStatus {
  const cves = [...new Set(input.findings.map((f) => f.ids[0] ?? '?'))];
  if (input.revoked)
    return {
      kind: 'not-eligible',
      label: 'Not eligible: enrollment revoked',
      cves,
      action: 're-enroll the device',
    };
  const failed = input.deployments.find((d) => d.state === 'failed');
  if (failed) {
    const why = reasonInWords(failed.reason) || 'the runtime refused the hotpatch';
    return {
      kind: 'failed',
      label: `Failed: ${why}`,
      cves,
      action: `retry the deployment of ${failed.patchId} once fixed, or deploy the fixed release with a restart`,
    };
  }
  const moving = input.deployments.find((d) => IN_PROGRESS.has(d.state));
  if (input.policyPaused && (moving || cves.length))
    return {
      kind: 'paused',
      label: cves.length ? `Paused: ${ids(input.findings)} waiting` : 'Paused',
      cves,
      action: 'resume the policy',
    };
  if (moving)
    return {
      kind: 'in-progress',
      label: `In progress: ${moving.patchId} ${moving.state}${moving.reason ? ` (${reasonInWords(moving.reason)})` : ''}`,
      cves,
      action: '',
    };
  if (input.findings.length) return notUpToDate(input, cves);
  if (input.reasons.length)
    return {
      kind: 'not-eligible',
      label: `Not eligible: ${reasonsInWords(input.reasons)}`,
      cves,
      action: 'no known advisory affects it; later hotpatches will need this fixed',
    };
  if (input.hotpatched.length)
    return {
      kind: 'hotpatched',
      label: `Hotpatched ${input.hotpatched.map((h) => `${h.name} ${h.version}`).join(', ')}`,
      cves,
      action: '',
    };
  return { kind: 'up-to-date', label: 'Up to date', cves, action: '' };
}
