/**
 * The device protocol over the WebSocket (JSON text frames). packages/runtime/src/agent.ts
 * speaks the device side; keep the two in step (PROTOCOL_VERSION).
 */
import { type Static, Type } from '@sinclair/typebox';

export const PROTOCOL_VERSION = 1;

export const AgentState = Type.Union([
  Type.Literal('applying'),
  Type.Literal('applied'),
  Type.Literal('pending'),
  Type.Literal('failed'),
  Type.Literal('reverted'),
]);

const Facts = Type.Object(
  {
    pid: Type.Integer(),
    service: Type.String(),
    node: Type.String(),
    engine: Type.String(),
    signatureEnforcement: Type.Boolean(),
    startedAt: Type.String(),
    patches: Type.Array(
      Type.Object({ patchId: Type.String(), state: Type.String() }, { additionalProperties: true }),
    ),
    packages: Type.Array(
      Type.Object({
        name: Type.String(),
        version: Type.String(),
        files: Type.Array(
          Type.Object({ path: Type.String(), sha256: Type.String() }, { additionalProperties: true }),
        ),
      }),
    ),
  },
  { additionalProperties: true },
);

export const AgentMessage = Type.Union([
  Type.Object({ type: Type.Literal('hello'), protocol: Type.Integer(), facts: Facts }),
  Type.Object({ type: Type.Literal('facts'), facts: Facts }),
  Type.Object({
    type: Type.Literal('state'),
    deploymentId: Type.String(),
    patchId: Type.String(),
    state: AgentState,
    reason: Type.Optional(Type.String()),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  }),
  Type.Object({ type: Type.Literal('errors'), patchId: Type.String(), count: Type.Integer({ minimum: 1 }) }),
]);
export type AgentMessage = Static<typeof AgentMessage>;

export type ServerMessage =
  | { type: 'welcome'; deviceId: string; instanceId: number; protocol: number }
  | { type: 'deploy'; deploymentId: string; patchId: string; bundle: string }
  | { type: 'revert'; deploymentId: string; patchId: string }
  | { type: 'revoked' }
  | { type: 'error'; code: string; message: string };
