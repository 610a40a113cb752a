/**
 * The device channel: a WebSocket at GET /v1/agent carrying JSON text frames, both directions.
 * Every string, array and number a device sends is bounded here, and no string may hold a NUL
 * (PostgreSQL text and jsonb cannot store one): the server checks each message against these
 * schemas before it reaches any query.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { HealthRequest, HealthWindow } from './health.js';
import { REPORTED_STATES } from './states.js';

/** Bumped on an incompatible change; `hello` carries it. */
export const PROTOCOL_VERSION = 1;

/** Sizes the server enforces; devices stay well inside them. */
export const LIMITS = {
  /** Largest WebSocket message a device may send (bytes). */
  messageBytes: 4 * 1024 * 1024,
  packages: 10_000,
  filesPerPackage: 10_000,
  patches: 1_000,
  /** Identifiers: patch ids, deployment ids, package names, versions. */
  idChars: 256,
  /** Free text: reasons, error messages, file paths. */
  textChars: 4_096,
  /** Largest error count one report may carry (the server counts even fewer per window). */
  errorCount: 1_000_000,
  labels: 32,
} as const;

const NO_NUL = '^[^\\u0000]*$';
/** A bounded string without NUL characters. */
export const Str = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: NO_NUL });
const Id = Str(LIMITS.idChars, 1);
const Text = Str(LIMITS.textChars);

/** An ISO 8601 timestamp with a zone, as Date.toISOString() writes it. */
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

/** Integers PostgreSQL's `integer` holds. */
const Int32 = (minimum = 0) => Type.Integer({ minimum, maximum: 2 ** 31 - 1 });

/** What a device says about its process: the runtime's status(). Unknown fields are dropped on receipt. */
export const Facts = Type.Object({
  pid: Int32(1),
  service: Id,
  node: Str(64, 1),
  engine: Str(32, 1),
  moduleEngine: Type.Optional(Str(32, 1)),
  signatureEnforcement: Type.Boolean(),
  trustedKeys: Type.Optional(Type.Array(Str(128), { maxItems: 64 })),
  startedAt: Type.String({ maxLength: 64, pattern: ISO_TIME }),
  patches: Type.Array(
    Type.Object({
      patchId: Id,
      version: Type.Optional(Id),
      target: Type.Optional(Text),
      advisories: Type.Optional(Type.Array(Id, { maxItems: 64 })),
      state: Str(32, 1),
      appliedAt: Type.Optional(Type.Union([Type.String({ maxLength: 64, pattern: NO_NUL }), Type.Null()])),
      reason: Type.Optional(Type.Union([Text, Type.Null()])),
      modules: Type.Optional(Int32()),
    }),
    { maxItems: LIMITS.patches },
  ),
  packages: Type.Array(
    Type.Object({
      name: Id,
      version: Id,
      files: Type.Array(
        Type.Object({
          path: Text,
          sha256: Str(64),
          patchId: Type.Optional(Type.Union([Id, Type.Null()])),
        }),
        { maxItems: LIMITS.filesPerPackage },
      ),
    }),
    { maxItems: LIMITS.packages },
  ),
});
export type Facts = Static<typeof Facts>;

/** Device labels (rings and policies select on them): bounded in count and size. */
export const Labels = Type.Record(
  Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9._/-]+$' }),
  Str(200),
  {
    maxProperties: LIMITS.labels,
  },
);
export type Labels = Static<typeof Labels>;

// ------------------------------------------------------------------ enrollment (HTTP)

/** POST /v1/enroll with Authorization: Bearer <enrollment token>. */
export const EnrollRequest = Type.Object(
  {
    host: Str(253, 1),
    service: Str(200, 1),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;
export const EnrollResponse = Type.Object({ deviceId: Id, credential: Str(200, 1) });
export type EnrollResponse = Static<typeof EnrollResponse>;
/** Header carrying the device's current credential when it re-enrolls (rotates) an existing identity. */
export const CREDENTIAL_HEADER = 'x-hotpatch-credential';

const ReportedStateSchema = Type.Union(REPORTED_STATES.map((s) => Type.Literal(s)));

// ------------------------------------------------------------------ device -> server

export const HelloMessage = Type.Object({
  type: Type.Literal('hello'),
  protocol: Int32(),
  facts: Facts,
});
export const FactsMessage = Type.Object({ type: Type.Literal('facts'), facts: Facts });
export const StateMessage = Type.Object({
  type: Type.Literal('state'),
  deploymentId: Id,
  patchId: Id,
  state: ReportedStateSchema,
  reason: Type.Optional(Text),
  error: Type.Optional(Type.Object({ code: Str(64, 1), message: Text })),
});
export const ErrorsMessage = Type.Object({
  type: Type.Literal('errors'),
  patchId: Id,
  count: Type.Integer({ minimum: 1, maximum: LIMITS.errorCount }),
});
/** The device's health before and after it applied a deployment's patch (when the deploy asked for it). */
export const HealthMessage = Type.Object({
  type: Type.Literal('health'),
  deploymentId: Id,
  patchId: Id,
  before: HealthWindow,
  after: HealthWindow,
});
export const AgentMessage = Type.Union([
  HelloMessage,
  FactsMessage,
  StateMessage,
  ErrorsMessage,
  HealthMessage,
]);
export type HealthMessage = Static<typeof HealthMessage>;
export type HelloMessage = Static<typeof HelloMessage>;
export type FactsMessage = Static<typeof FactsMessage>;
export type StateMessage = Static<typeof StateMessage>;
export type ErrorsMessage = Static<typeof ErrorsMessage>;
export type AgentMessage = Static<typeof AgentMessage>;

// ------------------------------------------------------------------ server -> device

export const ServerMessage = Type.Union([
  Type.Object({ type: Type.Literal('welcome'), deviceId: Id, instanceId: Type.Integer(), protocol: Int32() }),
  Type.Object({
    type: Type.Literal('deploy'),
    deploymentId: Id,
    patchId: Id,
    bundle: Type.String(),
    health: Type.Optional(HealthRequest),
  }),
  Type.Object({ type: Type.Literal('revert'), deploymentId: Id, patchId: Id }),
  Type.Object({ type: Type.Literal('revoked') }),
  Type.Object({ type: Type.Literal('error'), code: Str(64, 1), message: Text }),
]);
export type ServerMessage = Static<typeof ServerMessage>;

/** WebSocket close codes the server uses (4000-4999 are the application's). */
export const CLOSE = {
  /** The device was revoked: the agent stops for good. */
  revoked: 4003,
  /** The device is unknown (deleted): the agent enrolls again. */
  unknown: 4004,
  /** More connections of one device than allowed: the oldest is closed. */
  replaced: 4008,
  /** The server is shutting down: reconnect (to another replica). */
  goingAway: 1001,
  /** Too many messages (rate limit). */
  policy: 1008,
  /** A message over LIMITS.messageBytes. */
  tooBig: 1009,
} as const;

// ------------------------------------------------------------------ checks

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A checker per message type, so that an error names the field (not "expected union value"). */
function byType<T extends { type: string }>(schemas: readonly TSchema[]) {
  const compiled = new Map(
    schemas.map((s) => [(s.properties as { type: { const: string } }).type.const, TypeCompiler.Compile(s)]),
  );
  return (text: string): Checked<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, error: 'not JSON' };
    }
    const type = (value as { type?: unknown } | null)?.type;
    const c = typeof type === 'string' ? compiled.get(type) : undefined;
    if (!c) return { ok: false, error: `/type: expected one of ${[...compiled.keys()].join(', ')}` };
    if (c.Check(value)) return { ok: true, value: value as T };
    const first = c.Errors(value).First();
    return { ok: false, error: `${first?.path || '/'}: ${first?.message ?? 'invalid'}` };
  };
}

/** Parses and checks one device message (the text of a frame). */
export const checkAgentMessage = byType<AgentMessage>(AgentMessage.anyOf);

/** Parses and checks one server message (the agent's side). */
export const checkServerMessage = byType<ServerMessage>(ServerMessage.anyOf);
