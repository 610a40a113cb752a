import type { Eligibility } from '@hotpatch/core';
import type { Deployment, DeploymentDevice, DeviceState, Policy, Ring } from './model.js';

export interface DecideInput {
  deployment: Pick<Deployment, 'state' | 'expedite' | 'createdAt' | 'patchId'>;
  /** deadlineDays: how long after its ring's date an ineligible device has to take the fixed release. */
  policy: Pick<Policy, 'paused'> & Partial<Pick<Policy, 'deadlineDays'>>;
  ring: Ring | null;
  eligibility: Eligibility;
  row: Pick<DeploymentDevice, 'state' | 'instanceId' | 'reason'> | null;
  /** The current instance (null when the device is not connected). */
  instanceId: number | null;
  /** State of the patch in the device's runtime, from its facts. */
  devicePatch: string | null;
  /** Whether this connection was already sent the deploy (or revert). */
  alreadySent: boolean;
  /** A newer cumulative hotpatch of the same target the device already runs (this one is moot). */
  supersededBy?: string | null;
  /** Why the health gate holds the device's ring (halted, or earlier rings still watched), if it does. */
  hold?: string | null;
  now: Date;
}

export interface Decision {
  state: DeviceState;
  reason: string | null;
  action: string | null;
  scheduledFor: string | null;
  send: 'deploy' | 'revert' | null;
}

const DAY = 86_400_000;

/** The scheduler's rule for one device and one deployment (pure). */
export function decide(input: DecideInput): Decision {
  const { deployment, row, eligibility, now } = input;
  const keep = (send: Decision['send'] = null): Decision => ({
    state: row?.state ?? 'scheduled',
    reason: row?.reason ?? null,
    action: null,
    scheduledFor: null,
    send,
  });
  if (deployment.state === 'reverted') {
    if (input.devicePatch && input.instanceId !== null)
      return input.alreadySent
        ? keep()
        : { ...keep('revert'), state: row?.state ?? 'applied', reason: 'reverting' };
    if (!row || row.state === 'not-applicable' || row.state === 'ineligible' || row.state === 'reverted')
      return keep();
    return {
      state: 'reverted',
      reason:
        row.state === 'scheduled'
          ? 'deployment reverted before it reached the device'
          : 'deployment reverted',
      action: null,
      scheduledFor: null,
      send: null,
    };
  }
  if (input.devicePatch === 'applied')
    return { state: 'applied', reason: null, action: null, scheduledFor: null, send: null };
  if (input.supersededBy)
    return {
      state: 'superseded',
      reason: `the device runs ${input.supersededBy}, a newer cumulative hotpatch of the same target`,
      action: null,
      scheduledFor: null,
      send: null,
    };
  if (input.devicePatch === 'pending') return { ...keep(), state: 'pending' };
  const sameInstance = row !== null && input.instanceId !== null && row.instanceId === input.instanceId;
  if (row && sameInstance && (row.state === 'failed' || row.state === 'reverted')) return keep();
  if (eligibility.status === 'not-applicable')
    return {
      state: 'not-applicable',
      reason: eligibility.reason,
      action: null,
      scheduledFor: null,
      send: null,
    };
  if (eligibility.status === 'ineligible') {
    return {
      state: 'ineligible',
      reason: eligibility.reasons.map((r) => `${r.code}: ${r.message}`).join('; '),
      action:
        input.policy.deadlineDays === undefined
          ? eligibility.action
          : `${eligibility.action} by ${new Date(
              Date.parse(deployment.createdAt) +
                ((deployment.expedite ? 0 : (input.ring?.deferralDays ?? 0)) + input.policy.deadlineDays) *
                  DAY,
            )
              .toISOString()
              .slice(0, 10)} (policy deadline)`,
      scheduledFor: null,
      send: null,
    };
  }
  const deferral = deployment.expedite ? 0 : (input.ring?.deferralDays ?? 0);
  const due = new Date(Date.parse(deployment.createdAt) + deferral * DAY);
  const scheduledFor = due.toISOString();
  if (input.policy.paused)
    return { state: 'scheduled', reason: 'policy paused', action: null, scheduledFor, send: null };
  if (input.hold && !input.alreadySent)
    return { state: 'scheduled', reason: input.hold, action: null, scheduledFor, send: null };
  if (now < due)
    return {
      state: 'scheduled',
      reason: `ring ${input.ring?.name ?? '?'} deferral`,
      action: null,
      scheduledFor,
      send: null,
    };
  if (input.instanceId === null)
    return {
      state: 'scheduled',
      reason: 'due; waiting for the device to connect',
      action: null,
      scheduledFor,
      send: null,
    };
  if (input.alreadySent) return { ...keep(), scheduledFor };
  return { state: 'applying', reason: null, action: null, scheduledFor, send: 'deploy' };
}
