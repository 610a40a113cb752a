/** The deployments API (/v1/deployments…): create, list, view, wait, expedite, revert, retry. */
import { type Static, type TInteger, Type } from '@sinclair/typebox';
import { Nullable, Timestamp } from './api-common.js';
import { DEVICE_STATES, type DeviceState } from './states.js';

export const DeploymentCreate = Type.Object(
  {
    patchId: Type.String({ minLength: 1 }),
    policy: Type.String({ minLength: 1 }),
    expedite: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DeploymentCreate = Static<typeof DeploymentCreate>;
/**
 * `?view=summary`: the answer carries the deployment and its counts, with `devices` and `health`
 * left empty (GET /v1/deployments/:id has them). Planning is the same; a fleet of 100,000 devices
 * makes the full answer ~30 MB, computed while the server starts sending the deploys.
 */
export const DeploymentCreateQuery = Type.Object(
  { view: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('summary')])) },
  { additionalProperties: false },
);
export const WaitQuery = Type.Object(
  {
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    since: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const DeviceStateSchema = Type.Union(DEVICE_STATES.map((s) => Type.Literal(s)));

export const DeploymentSummary = Type.Object({
  total: Type.Integer(),
  /** Devices per state: every state, 0 when none. */
  counts: Type.Object(
    Object.fromEntries(DEVICE_STATES.map((st) => [st, Type.Integer()])) as Record<DeviceState, TInteger>,
  ),
  settled: Type.Boolean(),
});
export type DeploymentSummary = Static<typeof DeploymentSummary>;

export const DeploymentInfo = Type.Object({
  id: Type.String(),
  patchId: Type.String(),
  policy: Nullable(Type.String()),
  paused: Type.Boolean(),
  state: Type.Union([Type.Literal('active'), Type.Literal('reverted')]),
  expedite: Type.Boolean(),
  createdAt: Timestamp,
  createdBy: Type.String(),
  revertedAt: Nullable(Timestamp),
  revertReason: Nullable(Type.String()),
  /** Set when the health gate stopped the rollout. */
  haltedAt: Type.Optional(Nullable(Timestamp)),
  haltReason: Type.Optional(Nullable(Type.String())),
  /** The patch's title and advisories, for lists. */
  title: Nullable(Type.String()),
  advisories: Type.Array(Type.String()),
  /** in progress until every device settled, then completed (nothing to expedite). */
  phase: Type.Union([Type.Literal('in-progress'), Type.Literal('completed'), Type.Literal('reverted')]),
});
export type DeploymentInfo = Static<typeof DeploymentInfo>;

export const DeploymentDeviceView = Type.Object({
  deviceId: Type.String(),
  device: Type.String(),
  state: DeviceStateSchema,
  ring: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  action: Nullable(Type.String()),
  scheduledFor: Nullable(Timestamp),
  instanceId: Nullable(Type.Integer()),
  errors: Type.Integer(),
  appliedAt: Nullable(Timestamp),
  updatedAt: Timestamp,
});
export type DeploymentDeviceView = Static<typeof DeploymentDeviceView>;

/** A health gate report: the device's windows before and after, its verdict and breaches. */
export const HealthReportView = Type.Object({
  deviceId: Type.String(),
  device: Type.String(),
  ring: Nullable(Type.String()),
  verdict: Type.String(),
  breaches: Type.Unknown(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  reportedAt: Timestamp,
});

export const DeploymentView = Type.Object({
  deployment: DeploymentInfo,
  summary: DeploymentSummary,
  devices: Type.Array(DeploymentDeviceView),
  health: Type.Array(HealthReportView),
});
export type DeploymentView = Static<typeof DeploymentView>;
/** The long poll's answer: the view and its fingerprint (pass it back as `since`). */
export const DeploymentWaitResponse = Type.Composite([
  DeploymentView,
  Type.Object({ fingerprint: Type.String() }),
]);
export type DeploymentWaitResponse = Static<typeof DeploymentWaitResponse>;
/**
 * GET /v1/deployments/:id/progress: the deployment and its counts per state, without the per-device
 * rows (a fleet of 100,000 devices makes the full view ~30 MB). Long-polls like /wait.
 */
export const DeploymentProgress = Type.Object({
  deployment: DeploymentInfo,
  summary: DeploymentSummary,
  /** Health gate reports received so far (GET /v1/deployments/:id lists them). */
  healthReports: Type.Integer(),
  fingerprint: Type.String(),
});
export type DeploymentProgress = Static<typeof DeploymentProgress>;
export const DeploymentCreated = Type.Composite([DeploymentView, Type.Object({ created: Type.Boolean() })]);
export type DeploymentCreated = Static<typeof DeploymentCreated>;
export const DeploymentListItem = Type.Composite([
  DeploymentInfo,
  Type.Object({ summary: DeploymentSummary }),
]);
export type DeploymentListItem = Static<typeof DeploymentListItem>;
export const DeploymentListResponse = Type.Object({ deployments: Type.Array(DeploymentListItem) });

/** POST /v1/deployments/:id/retry — the deployment's id, bounded. */
export const RetryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const RetryResponse = Type.Object({ deploymentId: Type.String(), retried: Type.Array(Type.String()) });
export type RetryResponse = Static<typeof RetryResponse>;
