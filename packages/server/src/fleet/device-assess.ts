/** One device's placement, eligibility and status from its row and the status sources (pure). */
import { deviceReasons } from '@hotpatch/core';
import type { StatusSources } from '../advisories/load.js';
import { statusOf } from '../advisories/match.js';
import type { Device, Policy } from './model.js';
import { placeDevice } from './placement.js';

export function assessDevice(d: Device, policies: readonly Policy[], sources: StatusSources) {
  const place = placeDevice(d, policies);
  const policyView = place
    ? { name: place.policy.name, allowHotpatch: place.policy.allowHotpatch, paused: place.policy.paused }
    : null;
  const reasons = deviceReasons(d.facts, policyView);
  const { status, findings } = statusOf(
    {
      facts: d.facts,
      revoked: d.revokedAt !== null,
      policy: policyView,
      rows: sources.rowsByDevice.get(d.id) ?? [],
    },
    sources.index,
    sources.bundles,
  );
  return { place, reasons, status, findings };
}
