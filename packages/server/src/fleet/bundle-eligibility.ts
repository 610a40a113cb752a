/**
 * The core eligibility rule applied to a stored bundle, and its reasons in the words the API
 * shows (readiness, advisory findings, device status and the scheduler all ask it the same way).
 */
import { type Eligibility, hotpatchEligibility } from '@hotpatch/core';
import { reasonInWords } from '@hotpatch/protocol';
import type { BundleMeta } from './model.js';

type Facts = Parameters<typeof hotpatchEligibility>[0];
type PolicyView = Parameters<typeof hotpatchEligibility>[1];

/** A device's eligibility for a bundle: the bundle's target as the core rule reads it. */
export function bundleEligibility(facts: Facts, policy: PolicyView, bundle: BundleMeta): Eligibility {
  return hotpatchEligibility(facts, policy, {
    name: bundle.targetName,
    baseline: bundle.targetBaseline,
    files: bundle.files,
    fixedIn: bundle.fixedIn,
    keyId: bundle.keyId,
  });
}

/** Reasons joined, each in words. */
export function reasonsInWords(reasons: ReadonlyArray<{ code: string; message: string }>): string {
  return reasons.map((r) => reasonInWords(`${r.code}: ${r.message}`)).join('; ');
}

/** Why a device is not eligible, in words ('' when it is). */
export function eligibilityWhy(e: Eligibility): string {
  if (e.status === 'ineligible') return reasonsInWords(e.reasons);
  return e.status === 'not-applicable' ? e.reason : '';
}
