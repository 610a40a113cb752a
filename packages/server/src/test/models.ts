/** Model values for unit tests: one of each with every field set, changed per test by spreading. */
import type { Policy } from '../fleet/model.js';

/** A policy that allows hotpatches to every device at once (one ring, no deferral). */
export function policyOf(over: Partial<Policy> = {}): Policy {
  return {
    id: 'pol',
    name: 'prod',
    allowHotpatch: true,
    rings: [{ name: 'all', selector: {}, deferralDays: 0 }],
    deadlineDays: 7,
    paused: false,
    rollback: {},
    isDefault: true,
    position: 1,
    createdAt: '',
    updatedAt: '',
    ...over,
  };
}
