/**
 * Health signals a runtime measures itself (no help from the app) in a window before and after a
 * patch, sent so that the server's health gate can hold a ring. Every number is bounded.
 */
import { type Static, Type } from '@sinclair/typebox';

const Count = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

/** Longest observation window (one day); the runtime keeps at most this much history. */
export const HEALTH_MAX_WINDOW_MS = 86_400_000;

export const HealthWindow = Type.Object({
  startedAt: Type.String({ maxLength: 64, pattern: ISO_TIME }),
  /** How long the window really covers (a process younger than the window covers less). */
  ms: Type.Integer({ minimum: 0, maximum: HEALTH_MAX_WINDOW_MS }),
  /** HTTP responses by status class (diagnostics_channel http.server.response.finish). */
  responses: Type.Object({ s1xx: Count, s2xx: Count, s3xx: Count, s4xx: Count, s5xx: Count }),
  uncaughtExceptions: Count,
  unhandledRejections: Count,
  /** Event-loop delay p99 in ms (perf_hooks.monitorEventLoopDelay), null without samples. */
  loopP99Ms: Type.Union([Type.Number({ minimum: 0, maximum: 3_600_000 }), Type.Null()]),
});
export type HealthWindow = Static<typeof HealthWindow>;

/** Sent by the server with a deploy when the policy gates rings on health. */
export const HealthRequest = Type.Object({
  windowMs: Type.Integer({ minimum: 1_000, maximum: HEALTH_MAX_WINDOW_MS }),
});
export type HealthRequest = Static<typeof HealthRequest>;
