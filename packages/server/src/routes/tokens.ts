import {
  AuditQuery,
  AuditResponse,
  EnrollTokenBody,
  EnrollTokenCreated,
  IdParams,
  RevokedResponse,
  TokenBody,
  TokenCreated,
  TokenListResponse,
} from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { actorName, type Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { newToken } from '../secrets.js';
import { audit, listAudit } from '../store/audit.js';
import {
  insertApiToken,
  insertEnrollToken,
  listApiTokens,
  revokeApiToken,
  revokeEnrollToken,
} from '../store/tokens.js';
import { routes } from './route.js';

/** Admin API tokens (roles) and enrollment tokens. The secret is shown once, at creation. */
export function tokensPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.get('/v1/tokens', 'admin', { response: { 200: TokenListResponse } }, async () => ({
      tokens: await listApiTokens(ctx.db),
    }));
    r.post(
      '/v1/tokens',
      'admin',
      { body: TokenBody, response: { 201: TokenCreated } },
      async (req, reply) => {
        const t = newToken('hpt');
        await ctx.db.transaction(async (tx) => {
          const { name, role } = req.body;
          await insertApiToken(tx, { id: t.id, name, role, hash: t.hash, createdBy: actorName(req) });
          await audit(tx, actorName(req), 'token.create', t.id, { name: req.body.name, role: req.body.role });
        });
        return reply.status(201).send({ id: t.id, name: req.body.name, role: req.body.role, token: t.token });
      },
    );
    r.delete(
      '/v1/tokens/:id',
      'admin',
      { params: IdParams, response: { 200: RevokedResponse } },
      async (req) => {
        await ctx.db.transaction(async (tx) => {
          if (!(await revokeApiToken(tx, req.params.id)))
            throw new NotFoundError(`token ${req.params.id}`, 'id');
          await audit(tx, actorName(req), 'token.revoke', req.params.id);
        });
        return { revoked: req.params.id };
      },
    );
    r.post(
      '/v1/enroll-tokens',
      'admin',
      { body: EnrollTokenBody, response: { 201: EnrollTokenCreated } },
      async (req, reply) => {
        const t = newToken('hpe');
        await ctx.db.transaction(async (tx) => {
          await insertEnrollToken(tx, {
            id: t.id,
            name: req.body.name,
            hash: t.hash,
            labels: req.body.labels ?? {},
            allowDeviceLabels: req.body.allowDeviceLabels ?? false,
          });
          await audit(tx, actorName(req), 'enroll-token.create', t.id, {
            name: req.body.name,
            labels: req.body.labels ?? {},
            allowDeviceLabels: req.body.allowDeviceLabels ?? false,
          });
        });
        return reply.status(201).send({ id: t.id, name: req.body.name, token: t.token });
      },
    );
    r.delete(
      '/v1/enroll-tokens/:id',
      'admin',
      { params: IdParams, response: { 200: RevokedResponse } },
      async (req) => {
        await ctx.db.transaction(async (tx) => {
          if (!(await revokeEnrollToken(tx, req.params.id)))
            throw new NotFoundError(`enrollment token ${req.params.id}`, 'id');
          await audit(tx, actorName(req), 'enroll-token.revoke', req.params.id);
        });
        return { revoked: req.params.id };
      },
    );
    r.get(
      '/v1/audit',
      'viewer',
      { querystring: AuditQuery, response: { 200: AuditResponse } },
      async (req) => ({ entries: await listAudit(ctx.db, req.query.limit ?? 200) }),
    );
  };
}
