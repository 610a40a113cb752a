/** Report computations (pure): Autopatch columns, exposure windows, restarts. */
import { deviceReasons } from '@hotpatch/core';
import type { ExposureRow, PolicyReportRow, RestartsRow } from '@hotpatch/protocol';
import type { BundleMeta, Deployment, DeploymentDevice, Device, Policy } from './fleet/model.js';
import { placeDevice } from './fleet/placement.js';

export const COLUMNS = ['upToDate', 'hotpatched', 'notUpToDate', 'inProgress', 'notReady', 'paused'] as const;
export type Column = (typeof COLUMNS)[number];

/** The Autopatch hotpatch report column of one device. */
export function deviceColumn(
  device: Device,
  policy: Policy,
  rows: readonly DeploymentDevice[],
  deployments: ReadonlyMap<string, Deployment>,
): Column {
  const active = rows.filter((r) => deployments.get(r.deploymentId)?.state === 'active');
  if (!device.facts || deviceReasons(device.facts, { name: policy.name, allowHotpatch: true }).length > 0)
    return 'notReady';
  if (policy.paused && active.some((r) => r.state === 'scheduled')) return 'paused';
  if (active.some((r) => r.state === 'scheduled' || r.state === 'applying' || r.state === 'pending'))
    return 'inProgress';
  if (active.some((r) => r.state === 'ineligible' || r.state === 'failed')) return 'notUpToDate';
  if (active.some((r) => r.state === 'applied')) return 'hotpatched';
  return 'upToDate';
}

export function hotpatchReport(
  devices: readonly Device[],
  policies: readonly Policy[],
  rows: readonly DeploymentDevice[],
  deployments: readonly Deployment[],
): PolicyReportRow[] {
  const deps = new Map(deployments.map((d) => [d.id, d]));
  const byDevice = new Map<string, DeploymentDevice[]>();
  for (const r of rows) byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), r]);
  const out = new Map<string, Record<Column, number> & { policy: string; devices: number }>();
  for (const p of policies)
    out.set(p.id, {
      policy: p.name,
      devices: 0,
      upToDate: 0,
      hotpatched: 0,
      notUpToDate: 0,
      inProgress: 0,
      notReady: 0,
      paused: 0,
    });
  for (const d of devices) {
    if (d.revokedAt) continue;
    const place = placeDevice(d, policies);
    if (!place) continue;
    const entry = out.get(place.policy.id);
    if (!entry) continue;
    entry.devices++;
    const mine = (byDevice.get(d.id) ?? []).filter(
      (r) => deps.get(r.deploymentId)?.policyId === place.policy.id,
    );
    entry[deviceColumn(d, place.policy, mine, deps)]++;
  }
  return [...out.values()];
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** Per advisory: advisory published -> hotpatch published -> applied on each device, in hours. */
export function exposureReport(
  bundles: readonly BundleMeta[],
  rows: readonly DeploymentDevice[],
  deployments: readonly Deployment[],
  now = new Date(),
): ExposureRow[] {
  const depPatch = new Map(deployments.map((d) => [d.id, d.patchId]));
  const out: ExposureRow[] = [];
  const advisories = new Map<string, BundleMeta[]>();
  for (const b of bundles) for (const a of b.advisories) advisories.set(a, [...(advisories.get(a) ?? []), b]);
  const H = 3_600_000;
  for (const [advisory, bs] of advisories) {
    const patchIds = new Set(bs.map((b) => b.patchId));
    const hotpatchPublished = Math.min(...bs.map((b) => Date.parse(b.publishedAt)));
    const advisoryDates = bs.map((b) => b.advisoryPublishedAt).filter((x): x is string => x !== null);
    const published = advisoryDates.length > 0 ? Math.min(...advisoryDates.map((x) => Date.parse(x))) : null;
    const start = published ?? hotpatchPublished;
    const appliedByDevice = new Map<string, number>();
    const exposed = new Set<string>();
    for (const r of rows) {
      if (!patchIds.has(depPatch.get(r.deploymentId) ?? '')) continue;
      // Protected is the current, device-verified state: a reverted patch leaves the device exposed again.
      if (r.state === 'applied' && r.appliedAt) {
        const t = Date.parse(r.appliedAt);
        appliedByDevice.set(r.deviceId, Math.min(t, appliedByDevice.get(r.deviceId) ?? t));
      } else if (r.state !== 'not-applicable' && r.state !== 'superseded') exposed.add(r.deviceId);
    }
    for (const d of appliedByDevice.keys()) exposed.delete(d);
    const windows = [...appliedByDevice.values()].map((t) => (t - start) / H).sort((a, b) => a - b);
    out.push({
      advisory,
      patchIds: [...patchIds],
      advisoryPublishedAt: published === null ? null : new Date(published).toISOString(),
      hotpatchPublishedAt: new Date(hotpatchPublished).toISOString(),
      hoursToHotpatch: published === null ? null : (hotpatchPublished - published) / H,
      devicesApplied: windows.length,
      devicesStillExposed: exposed.size,
      exposureHours: {
        p50: percentile(windows, 50),
        p95: percentile(windows, 95),
        max: windows.at(-1) ?? null,
      },
      openExposureHours: exposed.size > 0 ? (now.getTime() - start) / H : null,
    });
  }
  return out;
}

/** Restarts per device counted from instance starts, against monthly restart updates (12/year). */
export function restartsReport(
  devices: readonly Device[],
  instances: ReadonlyArray<{ deviceId: string; startedAt: string }>,
  appliedLive: ReadonlyMap<string, number>,
  cadenceRestartsPerYear: number,
  now = new Date(),
): RestartsRow[] {
  const yearAgo = now.getTime() - 365 * 86_400_000;
  // Grouped once: 10,000 devices × their instances, not every instance per device.
  const byDevice = new Map<string, number[]>();
  for (const i of instances) {
    const t = Date.parse(i.startedAt);
    if (!(t >= yearAgo)) continue;
    const list = byDevice.get(i.deviceId);
    if (list) list.push(t);
    else byDevice.set(i.deviceId, [t]);
  }
  return devices.map((d) => {
    const starts = [...(byDevice.get(d.id) ?? [])].sort((a, b) => a - b);
    const restarts = Math.max(0, starts.length - 1);
    const observedDays = starts.length > 0 ? (now.getTime() - (starts[0] as number)) / 86_400_000 : 0;
    return {
      device: `${d.host}/${d.service}`,
      deviceId: d.id,
      instanceStarts: starts.length,
      restartsLastYear: restarts,
      observedDays: Math.round(observedDays * 100) / 100,
      // Annualized only over a window long enough to mean something.
      restartsPerYear: observedDays >= 30 ? Math.round((restarts * 365) / observedDays) : null,
      hotpatchesAppliedWithoutRestart: appliedLive.get(d.id) ?? 0,
      monthlyRestartsPerYear: 12,
      cadenceRestartsPerYear,
    };
  });
}
