/**
 * One shape for every API route: method, path, who may call it, and its schemas (request and
 * response, from @hotpatch/protocol); the handler's request is typed from those schemas.
 */
import type { ServerResponse } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import type { WebSocket } from 'ws';
import type { Ctx, Role } from '../context.js';

/** Who may call a route: a role (API tokens), or a check of its own run before the body is read (devices). */
export type Guard = Role | ((req: FastifyRequest) => Promise<void>);

export interface RouteSchemas {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Every answer a route gives besides errors, by status. */
  response: Record<number, TSchema>;
}
type Of<T> = T extends TSchema ? Static<T> : unknown;
export type RouteRequest<S extends RouteSchemas> = FastifyRequest<{
  Params: Of<S['params']>;
  Querystring: Of<S['querystring']>;
  Body: Of<S['body']>;
}>;
type Handler<S extends RouteSchemas> = (req: RouteRequest<S>, reply: FastifyReply) => Promise<unknown>;
type Extra = Pick<RouteOptions, 'bodyLimit'>;

/** Route registration bound to a plugin's app and context: `r.get(url, guard, schemas, handler)`. */
export function routes(app: FastifyInstance, ctx: Ctx) {
  const onRequest = (guard: Guard) => (typeof guard === 'string' ? ctx.requireRole(guard) : guard);
  const add =
    (method: HTTPMethods) =>
    <S extends RouteSchemas>(url: string, guard: Guard, schema: S, handler: Handler<S>, extra: Extra = {}) =>
      app.route({
        method,
        url,
        onRequest: onRequest(guard),
        schema,
        handler: handler as never,
        ...extra,
      });
  /** A WebSocket route (GET upgrade; @fastify/websocket): no schemas, the guard runs before the upgrade. */
  const socket = (url: string, guard: Guard, handler: (socket: WebSocket, req: FastifyRequest) => void) =>
    app.get(url, { websocket: true, onRequest: onRequest(guard) }, handler);
  /**
   * A long-lived GET answered by writing to the raw response (Server-Sent Events): the schema names
   * the stream; the handler writes it and Fastify serialises nothing.
   */
  const stream = (
    url: string,
    guard: Guard,
    schema: RouteSchemas,
    handler: (req: FastifyRequest, res: ServerResponse) => void,
  ) =>
    app.route({
      method: 'GET',
      url,
      onRequest: onRequest(guard),
      schema,
      handler: async (req, reply) => {
        reply.hijack();
        handler(req, reply.raw);
      },
    });
  return { get: add('GET'), post: add('POST'), patch: add('PATCH'), delete: add('DELETE'), socket, stream };
}
