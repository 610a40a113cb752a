/**
 * One device against one deployment: placement -> eligibility -> decide. The hub (connected
 * devices) and deployment planning (stored facts, at creation) both use this one function.
 */
import { bundleEligibility } from './bundle-eligibility.js';
import { type Decision, decide } from './decide.js';
import type { BundleMeta, Deployment, DeploymentDevice, Labels, Policy, Ring, StoredFacts } from './model.js';
import { placeDevice } from './placement.js';

export interface EvaluateInput {
  deployment: Deployment;
  device: { labels: Labels; policyId: string | null };
  policies: readonly Policy[];
  /** The deployment's bundle. */
  bundle: BundleMeta;
  /** Bundles the device holds, by patch id (for supersedence); missing ones are unknown to this server. */
  bundleOf: (patchId: string) => BundleMeta | undefined;
  facts: StoredFacts | null;
  row: Pick<DeploymentDevice, 'state' | 'instanceId' | 'reason'> | null;
  /** The connected instance (null when evaluating from stored facts). */
  instanceId: number | null;
  alreadySent: boolean;
  /** The health gate's hold for a ring of this deployment's policy (null: it may go). */
  hold?: (ring: string | null) => string | null;
  now: Date;
}

export interface Evaluation {
  decision: Decision;
  ring: Ring | null;
}

/** A newer cumulative hotpatch of the same target (name and baseline) applied on the device, if any. */
export function supersedingPatch(
  bundle: BundleMeta,
  facts: StoredFacts | null,
  bundleOf: (patchId: string) => BundleMeta | undefined,
): string | null {
  for (const p of facts?.patches ?? []) {
    if (p.state !== 'applied' || p.patchId === bundle.patchId) continue;
    const b = bundleOf(p.patchId);
    if (
      b &&
      b.targetName === bundle.targetName &&
      b.targetBaseline === bundle.targetBaseline &&
      b.level > bundle.level
    )
      return p.patchId;
  }
  return null;
}

/** Null when the deployment does not concern the device (another policy; reverted and never applied here). */
export function evaluate(input: EvaluateInput): Evaluation | null {
  const { deployment: dep, row } = input;
  const place = placeDevice(input.device, input.policies);
  if (dep.state === 'active' && dep.policyId !== place?.policy.id) return null;
  if (
    dep.state === 'reverted' &&
    !(row && (row.state === 'applying' || row.state === 'applied' || row.state === 'pending'))
  )
    return null;
  const policy = input.policies.find((p) => p.id === dep.policyId);
  if (!policy) return null;
  const bundle = input.bundle;
  const eligibility = bundleEligibility(
    input.facts,
    { name: policy.name, allowHotpatch: policy.allowHotpatch },
    bundle,
  );
  const ring = place?.policy.id === policy.id ? place.ring : null;
  const decision = decide({
    deployment: dep,
    policy,
    ring,
    eligibility,
    row,
    instanceId: input.instanceId,
    devicePatch: input.facts?.patches.find((p) => p.patchId === dep.patchId)?.state ?? null,
    alreadySent: input.alreadySent,
    supersededBy: supersedingPatch(bundle, input.facts, input.bundleOf),
    hold: input.hold?.(ring?.name ?? null) ?? null,
    now: input.now,
  });
  return { decision, ring };
}
