import {
  AuditQuery,
  AuditResponse,
  EnrollTokenBody,
  EnrollTokenCreated,
  RevokedResponse,
  TokenBody,
  TokenCreated,
  TokenListResponse,
} from '@hotpatch/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { audit } from '../audit.js';
import { actorName, type Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { newToken } from '../secrets.js';
import { routes } from './route.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });

/** Admin API tokens (roles) and enrollment tokens. The secret is shown once, at creation. */
export function tokensPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    const _admin = { onRequest: ctx.requireRole('admin') };
    r.get('/v1/tokens', 'admin', { response: { 200: TokenListResponse } }, async () => ({
      tokens: (
        await ctx.db.query(
          'SELECT id, name, role, created_at, created_by, revoked_at FROM api_tokens ORDER BY created_at',
        )
      ).map((r) => ({
        id: r.id,
        name: r.name,
        role: r.role,
        createdAt: r.created_at,
        createdBy: r.created_by,
        revokedAt: r.revoked_at,
      })),
    }));
    r.post(
      '/v1/tokens',
      'admin',
      { body: TokenBody, response: { 201: TokenCreated } },
      async (req, reply) => {
        const t = newToken('hpt');
        await ctx.db.transaction(async (tx) => {
          await tx.query(
            'INSERT INTO api_tokens (id, name, role, token_hash, created_by) VALUES ($1, $2, $3, $4, $5)',
            [t.id, req.body.name, req.body.role, t.hash, actorName(req)],
          );
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
          const r = await tx.query(
            'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
            [req.params.id],
          );
          if (r.length === 0) throw new NotFoundError(`token ${req.params.id}`, 'id');
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
          await tx.query(
            'INSERT INTO enroll_tokens (id, name, token_hash, labels, allow_device_labels) VALUES ($1, $2, $3, $4, $5)',
            [
              t.id,
              req.body.name,
              t.hash,
              JSON.stringify(req.body.labels ?? {}),
              req.body.allowDeviceLabels ?? false,
            ],
          );
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
          const r = await tx.query(
            'UPDATE enroll_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
            [req.params.id],
          );
          if (r.length === 0) throw new NotFoundError(`enrollment token ${req.params.id}`, 'id');
          await audit(tx, actorName(req), 'enroll-token.revoke', req.params.id);
        });
        return { revoked: req.params.id };
      },
    );
    r.get(
      '/v1/audit',
      'viewer',
      { querystring: AuditQuery, response: { 200: AuditResponse } },
      async (req) => ({
        entries: (
          await ctx.db.query('SELECT * FROM audit_log ORDER BY id DESC LIMIT $1', [req.query.limit ?? 200])
        ).map((r) => ({
          id: Number(r.id),
          at: r.at,
          actor: r.actor,
          action: r.action,
          subject: r.subject,
          detail: r.detail,
        })),
      }),
    );
  };
}
