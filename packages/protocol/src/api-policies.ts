/** The policies API (/v1/policies…): request bodies and the policy view. */
import { type Static, Type } from '@sinclair/typebox';
import { Labels } from './agent.js';
import { Nullable, OpenObject, Timestamp } from './api-common.js';

export const PolicyName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' });
export const RingSchema = Type.Object(
  {
    name: PolicyName,
    selector: Labels,
    deferralDays: Type.Number({ minimum: 0, maximum: 365 }),
  },
  { additionalProperties: false },
);
export const RollbackSchema = Type.Object(
  {
    maxFailures: Type.Optional(Type.Integer({ minimum: 1 })),
    maxErrors: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
/** The health gate (server fleet/health-gate.ts): at least one signal, and what to do on a breach. */
export const HealthGateSchema = Type.Object(
  {
    /** How long each device is watched after it applied (and the window before it compared). */
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    /** Largest rise of the 5xx share of HTTP responses, in percentage points (e.g. 1 = +1 point). */
    max5xxDeltaPoints: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Largest ratio of event-loop delay p99 after / before (e.g. 1.5). */
    maxLoopP99Ratio: Type.Optional(Type.Number({ minimum: 1, maximum: 1000 })),
    /** Largest rise of uncaught exceptions + unhandled rejections (before scaled to the after window). */
    maxCrashDelta: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    /** Fewer responses after than this: the 5xx signal says nothing (default 20). */
    minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** On a breach: stop promoting (halt), or also revert the deployment everywhere (rollback). */
    onBreach: Type.Union([Type.Literal('halt'), Type.Literal('rollback')]),
  },
  { additionalProperties: false },
);
export type HealthGate = Static<typeof HealthGateSchema>;
export const PolicyBody = Type.Object(
  {
    name: PolicyName,
    allowHotpatch: Type.Boolean(),
    rings: Type.Array(RingSchema, { minItems: 1, maxItems: 20 }),
    deadlineDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    rollback: Type.Optional(RollbackSchema),
    health: Type.Optional(Nullable(HealthGateSchema)),
    isDefault: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PolicyBody = Static<typeof PolicyBody>;
export const PolicyPatch = Type.Partial(Type.Omit(PolicyBody, ['name']), { additionalProperties: false });
export type PolicyPatch = Static<typeof PolicyPatch>;
export const PolicyParams = Type.Object({ name: Type.String({ minLength: 1 }) });
export const CalendarQuery = Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1, maximum: 36 })) });

export const PolicyView = Type.Object({
  name: Type.String(),
  allowHotpatch: Type.Boolean(),
  rings: Type.Array(
    Type.Object({
      name: Type.String(),
      selector: Type.Record(Type.String(), Type.String()),
      deferralDays: Type.Number(),
    }),
  ),
  deadlineDays: Type.Integer(),
  paused: Type.Boolean(),
  rollback: Type.Object({
    maxFailures: Type.Optional(Type.Integer()),
    maxErrors: Type.Optional(Type.Integer()),
  }),
  health: Nullable(
    Type.Object({
      windowSeconds: Type.Integer(),
      max5xxDeltaPoints: Type.Optional(Type.Number()),
      maxLoopP99Ratio: Type.Optional(Type.Number()),
      maxCrashDelta: Type.Optional(Type.Integer()),
      minRequests: Type.Optional(Type.Integer()),
      onBreach: Type.String(),
    }),
  ),
  isDefault: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type PolicyView = Static<typeof PolicyView>;
export const PolicyResponse = Type.Object({ policy: PolicyView });
export const PolicyListResponse = Type.Object({ policies: Type.Array(PolicyView) });
/** The core's policy calendar (months, Patch Tuesdays, ring dates) for one policy. */
export const CalendarResponse = OpenObject({ policy: Type.String() });
