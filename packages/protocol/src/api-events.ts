/**
 * GET /v1/events: the dashboard's live channel (Server-Sent Events). The server's bus events
 * (carried between replicas by NOTIFY) go out as they are, each under its kind, after a `hello`.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Actor } from './api-admin.js';

/** What changed on the server; clients re-read it through the API. */
export const BusEvent = Type.Union([
  /** created, reverted, expedited: reconcile connected devices */
  Type.Object({ kind: Type.Literal('deployment'), id: Type.String() }),
  /** paused, resumed, changed */
  Type.Object({ kind: Type.Literal('policy'), id: Type.String() }),
  /** revoked, relabelled, moved */
  Type.Object({ kind: Type.Literal('device'), id: Type.String() }),
  /** a device's state changed (for waiters) */
  Type.Object({ kind: Type.Literal('state'), deploymentId: Type.String() }),
  /** failed devices of a deployment are to be sent it again */
  Type.Object({ kind: Type.Literal('retry'), id: Type.String(), devices: Type.Array(Type.String()) }),
]);
export type BusEvent = Static<typeof BusEvent>;

/** The stream's first event: who the token is, and how long a client waits before reconnecting. */
export const HelloEvent = Type.Object({ kind: Type.Literal('hello'), actor: Actor, retryMs: Type.Integer() });

/** Every event the stream carries (the SSE `event:` field is `kind`; `data:` is the JSON). */
export const LiveEvent = Type.Union([HelloEvent, BusEvent]);
export type LiveEvent = Static<typeof LiveEvent>;

/** The stream itself, for the route's schema (its events are written as they come, not serialised). */
export const EventStream = Type.String({ description: 'text/event-stream of LiveEvent' });
