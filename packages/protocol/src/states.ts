/** State tables shared by the server, the agent, the CLI and the dashboard. */

/** A deployment's state: active until reverted (by an operator or the policy's rollback rule). */
export const DEPLOYMENT_STATES = ['active', 'reverted'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** A device's state within one deployment (the server's view). */
export const DEVICE_STATES = [
  'not-applicable',
  'ineligible',
  'scheduled',
  'applying',
  'applied',
  'pending',
  'failed',
  'reverted',
  'superseded',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** States nothing more happens in (a deployment is settled when every device is in one). */
export const TERMINAL_STATES: ReadonlySet<DeviceState> = new Set<DeviceState>([
  'not-applicable',
  'ineligible',
  'applied',
  'failed',
  'reverted',
  'superseded',
]);

/** The states a device itself reports (the others are the scheduler's). */
export const REPORTED_STATES = ['applying', 'applied', 'pending', 'failed', 'reverted'] as const;
export type ReportedState = (typeof REPORTED_STATES)[number];
