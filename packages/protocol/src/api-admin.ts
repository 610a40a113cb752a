/** Tokens, audit, identity, health, reports and enrollment views. */
import { type Static, Type } from '@sinclair/typebox';
import { Labels } from './agent.js';
import { Nullable, OpenObject, Timestamp } from './api-common.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const TokenBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), role: RoleSchema },
  { additionalProperties: false },
);
export const EnrollTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    labels: Type.Optional(Labels),
    /** Whether enrolling devices may add labels of their own (never override the token's). */
    allowDeviceLabels: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  createdAt: Timestamp,
  createdBy: Nullable(Type.String()),
  revokedAt: Nullable(Timestamp),
});
export type TokenView = Static<typeof TokenView>;
export const TokenListResponse = Type.Object({ tokens: Type.Array(TokenView) });
/** The secret is in the answer once, at creation. */
export const TokenCreated = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  token: Type.String(),
});
export const EnrollTokenCreated = Type.Object({
  id: Type.String(),
  name: Type.String(),
  token: Type.String(),
});

export const AuditQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })) });
export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Type.String(),
  action: Type.String(),
  subject: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditEntry = Static<typeof AuditEntry>;
export const AuditResponse = Type.Object({ entries: Type.Array(AuditEntry) });

export const Actor = Type.Object({ tokenId: Type.String(), name: Type.String(), role: RoleSchema });
export type Actor = Static<typeof Actor>;
export const MeResponse = Type.Object({ actor: Actor });

export const HealthzResponse = Type.Object({
  ok: Type.Boolean(),
  storage: Type.String(),
  devicesConnected: Type.Integer(),
});

/** GET /v1/reports/hotpatch: devices per update column, per policy. */
export const PolicyReportRow = Type.Object({
  policy: Type.String(),
  devices: Type.Integer(),
  upToDate: Type.Integer(),
  hotpatched: Type.Integer(),
  notUpToDate: Type.Integer(),
  inProgress: Type.Integer(),
  notReady: Type.Integer(),
  paused: Type.Integer(),
});
export type PolicyReportRow = Static<typeof PolicyReportRow>;
const Hours = Nullable(Type.Number());
/** GET /v1/reports/exposure: per advisory, advisory → hotpatch published → applied, in hours. */
export const ExposureRow = Type.Object({
  advisory: Type.String(),
  patchIds: Type.Array(Type.String()),
  advisoryPublishedAt: Nullable(Timestamp),
  hotpatchPublishedAt: Timestamp,
  hoursToHotpatch: Hours,
  devicesApplied: Type.Integer(),
  devicesStillExposed: Type.Integer(),
  exposureHours: Type.Object({ p50: Hours, p95: Hours, max: Hours }),
  openExposureHours: Hours,
});
export type ExposureRow = Static<typeof ExposureRow>;
/** GET /v1/reports/restarts: restarts per device against monthly restart updates. */
export const RestartsRow = Type.Object({
  device: Type.String(),
  deviceId: Type.String(),
  instanceStarts: Type.Integer(),
  restartsLastYear: Type.Integer(),
  observedDays: Type.Number(),
  restartsPerYear: Nullable(Type.Integer()),
  hotpatchesAppliedWithoutRestart: Type.Integer(),
  monthlyRestartsPerYear: Type.Integer(),
  cadenceRestartsPerYear: Type.Integer(),
});
export type RestartsRow = Static<typeof RestartsRow>;
export const PolicyReportsResponse = Type.Object({ policies: Type.Array(PolicyReportRow) });
export const ExposureReportResponse = Type.Object({ advisories: Type.Array(ExposureRow) });
export const RestartsReportResponse = Type.Object({ devices: Type.Array(RestartsRow) });
/** GET /v1/report: the three reports and the core's policy calendar. */
export const ReportResponse = Type.Object({
  generatedAt: Timestamp,
  policies: Type.Array(PolicyReportRow),
  advisories: Type.Array(ExposureRow),
  restarts: Type.Array(RestartsRow),
  calendar: OpenObject(),
});
export type ReportResponse = Static<typeof ReportResponse>;
