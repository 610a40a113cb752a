/**
 * Inventory × advisories (pure): which known advisories still affect a device, and whether a
 * hotpatch in the catalog covers each; then the device's status. Used by the devices routes,
 * the advisories routes and the CLI's views (through the API).
 */
import { deviceReasons, type PolicyView } from '@hotpatch/core';
import type { DeviceStatus, OsvRecord } from '@hotpatch/protocol';
import { bundleEligibility, eligibilityWhy } from '../fleet/bundle-eligibility.js';
import { deviceStatus, type Finding } from '../fleet/device-status.js';
import type { BundleMeta, StoredFacts } from '../fleet/model.js';
import { advisoryIds, affectedNames, affects, fixedVersion } from './osv.js';

/** Records by npm package name, so that a device with 500 packages does not scan every record. */
export type AdvisoryIndex = Map<string, OsvRecord[]>;

export function indexAdvisories(records: readonly OsvRecord[]): AdvisoryIndex {
  const index: AdvisoryIndex = new Map();
  for (const r of records) {
    if (r.withdrawn) continue;
    for (const name of affectedNames(r)) index.set(name, [...(index.get(name) ?? []), r]);
  }
  return index;
}

const overlaps = (a: readonly string[], b: readonly string[]) => a.some((x) => b.includes(x));

/** Known advisories affecting the device's loaded packages, minus those an applied hotpatch fixes. */
export function findings(
  facts: StoredFacts | null,
  index: AdvisoryIndex,
  bundles: readonly BundleMeta[],
  policy: PolicyView | null,
): Finding[] {
  const out: Finding[] = [];
  for (const p of facts?.packages ?? []) {
    for (const rec of index.get(p.name) ?? []) {
      if (!affects(rec, p.name, p.version)) continue;
      const ids = advisoryIds(rec);
      const target = `${p.name}@${p.version}`;
      const fixedByPatch = (facts?.patches ?? []).some((x) => {
        if (x.state !== 'applied' || x.target !== target) return false;
        const covers = x.advisories ?? bundles.find((b) => b.patchId === x.patchId)?.advisories ?? [];
        return overlaps(covers, ids);
      });
      if (fixedByPatch) continue;
      const bundle = bundles
        .filter(
          (b) => b.targetName === p.name && b.targetBaseline === p.version && overlaps(b.advisories, ids),
        )
        .at(-1);
      let hotpatch: Finding['hotpatch'] = null;
      if (bundle) {
        const e = bundleEligibility(facts, policy, bundle);
        hotpatch = { patchId: bundle.patchId, eligible: e.status === 'eligible', why: eligibilityWhy(e) };
      }
      out.push({
        ids,
        name: p.name,
        version: p.version,
        fixedIn: fixedVersion(rec, p.name, p.version),
        hotpatch,
      });
    }
  }
  return out;
}

export interface StatusFacts {
  facts: StoredFacts | null;
  revoked: boolean;
  policy: (PolicyView & { paused: boolean }) | null;
  /** The device's rows in active deployments. */
  rows: readonly { patchId: string; state: string; reason: string | null }[];
}

/** The device's status and the findings behind it. */
export function statusOf(
  d: StatusFacts,
  index: AdvisoryIndex,
  bundles: readonly BundleMeta[],
): { status: DeviceStatus; findings: Finding[] } {
  const f = findings(d.facts, index, bundles, d.policy);
  const applied = new Set(
    (d.facts?.patches ?? []).filter((p) => p.state === 'applied').map((p) => p.patchId),
  );
  const loaded = new Set((d.facts?.packages ?? []).map((p) => `${p.name}@${p.version}`));
  // A failed or pending row whose target is no longer loaded (upgraded, restarted) says nothing about now.
  const rows = d.rows.filter((r) => {
    if (applied.has(r.patchId)) return false;
    const b = bundles.find((x) => x.patchId === r.patchId);
    return !b || loaded.has(`${b.targetName}@${b.targetBaseline}`);
  });
  const hotpatched = (d.facts?.patches ?? [])
    .filter((p) => p.state === 'applied')
    .map((p) => ({ name: (p.target ?? p.patchId).replace(/@[^@]+$/, ''), version: p.version ?? p.patchId }));
  const status = deviceStatus({
    revoked: d.revoked,
    reasons: deviceReasons(d.facts, d.policy),
    policyPaused: d.policy?.paused ?? false,
    findings: f,
    hotpatched,
    deployments: rows,
  });
  return { status, findings: f };
}
