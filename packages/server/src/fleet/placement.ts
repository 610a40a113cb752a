import type { Device, Labels, Policy, Ring } from './model.js';

export function selectorMatches(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function ringFor(policy: Policy, labels: Labels): Ring | null {
  return (
    policy.rings.find((r) => selectorMatches(r.selector, labels)) ??
    policy.rings[policy.rings.length - 1] ??
    null
  );
}

/**
 * Which policy and ring a device follows: the policy it was assigned, else the first policy
 * (in creation order) with a ring whose non-empty selector matches its labels, else the tenant
 * default. Within the policy, the first ring that matches (else the last ring).
 */
export function placeDevice(
  device: Pick<Device, 'labels' | 'policyId'>,
  policies: readonly Policy[],
): { policy: Policy; ring: Ring | null } | null {
  const sorted = [...policies].sort((a, b) => a.position - b.position);
  let policy = device.policyId ? (sorted.find((p) => p.id === device.policyId) ?? null) : null;
  policy ??=
    sorted.find(
      (p) =>
        !p.isDefault &&
        p.rings.some((r) => Object.keys(r.selector).length > 0 && selectorMatches(r.selector, device.labels)),
    ) ?? null;
  policy ??= sorted.find((p) => p.isDefault) ?? null;
  if (!policy) return null;
  return { policy, ring: ringFor(policy, device.labels) };
}
