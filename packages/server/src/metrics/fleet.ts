/**
 * What /metrics exports about the fleet, computed from the same rows the reports use (pure): the
 * route turns these numbers into Prometheus gauges and histograms at scrape time.
 */
import { deviceReasons } from '@hotpatch/core';
import type { BundleMeta, Deployment, DeploymentDevice, Device, Policy } from '../fleet/model.js';
import { placeDevice } from '../fleet/placement.js';
import { exposureReport, hotpatchReport } from '../reports.js';

export interface FleetInput {
  devices: readonly Device[];
  policies: readonly Policy[];
  rows: readonly DeploymentDevice[];
  deployments: readonly Deployment[];
  bundles: readonly BundleMeta[];
  now?: Date;
}

export interface FleetNumbers {
  /** Devices by connection status: connected, disconnected, revoked. */
  devicesByStatus: Record<'connected' | 'disconnected' | 'revoked', number>;
  /** Devices per policy and Autopatch report column. */
  devicesByColumn: Array<{ policy: string; column: string; value: number }>;
  /** Non-revoked devices per ineligibility reason code (a device may carry several). */
  eligibilityReasons: Record<string, number>;
  deploymentsByState: Record<string, number>;
  /** Device rows of active deployments by state. */
  deploymentDevicesByState: Record<string, number>;
  /** Per advisory: hours from advisory (or hotpatch) publication to the device-verified apply. */
  exposureWindows: Array<{ advisory: string; hours: number[] }>;
  devicesStillExposed: Array<{ advisory: string; value: number }>;
  /** Hotpatches applied on devices without a restart (device-verified). */
  restartsAvoided: number;
}

const H = 3_600_000;

export function fleetNumbers(input: FleetInput): FleetNumbers {
  const devicesByStatus = { connected: 0, disconnected: 0, revoked: 0 };
  const eligibilityReasons: Record<string, number> = {};
  for (const d of input.devices) {
    if (d.revokedAt) {
      devicesByStatus.revoked++;
      continue;
    }
    devicesByStatus[d.connected ? 'connected' : 'disconnected']++;
    const place = placeDevice(d, input.policies);
    const policy = place ? { name: place.policy.name, allowHotpatch: place.policy.allowHotpatch } : null;
    for (const r of deviceReasons(d.facts, policy))
      eligibilityReasons[r.code] = (eligibilityReasons[r.code] ?? 0) + 1;
  }
  const devicesByColumn = hotpatchReport(
    input.devices,
    input.policies,
    input.rows,
    input.deployments,
  ).flatMap((p) =>
    (['upToDate', 'hotpatched', 'notUpToDate', 'inProgress', 'notReady', 'paused'] as const).map((c) => ({
      policy: p.policy,
      column: c,
      value: p[c],
    })),
  );
  // An active deployment the health gate halted is counted as halted, not active.
  const deploymentsByState: Record<string, number> = { active: 0, halted: 0, reverted: 0 };
  for (const d of input.deployments) {
    const state = d.state === 'active' && d.haltedAt ? 'halted' : d.state;
    deploymentsByState[state] = (deploymentsByState[state] ?? 0) + 1;
  }
  const active = new Set(input.deployments.filter((d) => d.state === 'active').map((d) => d.id));
  const deploymentDevicesByState: Record<string, number> = {};
  for (const r of input.rows)
    if (active.has(r.deploymentId))
      deploymentDevicesByState[r.state] = (deploymentDevicesByState[r.state] ?? 0) + 1;
  const exposure = exposureReport(input.bundles, input.rows, input.deployments, input.now);
  const exposureWindows = exposure.map((a) => ({
    advisory: a.advisory,
    hours: windowsOf(a.patchIds, a.advisoryPublishedAt ?? a.hotpatchPublishedAt, input),
  }));
  return {
    devicesByStatus,
    devicesByColumn,
    eligibilityReasons,
    deploymentsByState,
    deploymentDevicesByState,
    exposureWindows,
    devicesStillExposed: exposure.map((a) => ({ advisory: a.advisory, value: a.devicesStillExposed })),
    restartsAvoided: input.rows.filter((r) => r.state === 'applied' && r.appliedAt).length,
  };
}

/** Each device's first verified apply of one of the advisory's patches, in hours after start. */
function windowsOf(patchIds: readonly string[], startIso: string, input: FleetInput): number[] {
  const ids = new Set(patchIds);
  const depPatch = new Map(input.deployments.map((d) => [d.id, d.patchId]));
  const first = new Map<string, number>();
  for (const r of input.rows) {
    if (!ids.has(depPatch.get(r.deploymentId) ?? '') || r.state !== 'applied' || !r.appliedAt) continue;
    const t = Date.parse(r.appliedAt);
    first.set(r.deviceId, Math.min(t, first.get(r.deviceId) ?? t));
  }
  const start = Date.parse(startIso);
  return [...first.values()].map((t) => Math.max(0, (t - start) / H));
}
