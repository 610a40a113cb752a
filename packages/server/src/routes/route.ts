/**
 * One shape for every API route: method, path, the role it needs, and its schemas (request and
 * response, from @hotpatch/protocol); the handler's request is typed from those schemas.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import type { Ctx, Role } from '../context.js';

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

/** Route registration bound to a plugin's app and context: `r.get(url, role, schemas, handler)`. */
export function routes(app: FastifyInstance, ctx: Ctx) {
  const add =
    (method: HTTPMethods) =>
    <S extends RouteSchemas>(url: string, role: Role, schema: S, handler: Handler<S>, extra: Extra = {}) =>
      app.route({
        method,
        url,
        onRequest: ctx.requireRole(role),
        schema,
        handler: handler as never,
        ...extra,
      });
  return { get: add('GET'), post: add('POST'), patch: add('PATCH'), delete: add('DELETE') };
}
