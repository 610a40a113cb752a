import { policyCalendar } from '@hotpatch/core';
import {
  CalendarQuery,
  CalendarResponse,
  DeletedResponse,
  type HealthGate,
  PolicyParams as NameParams,
  PolicyBody,
  PolicyListResponse,
  PolicyPatch,
  PolicyResponse,
} from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { actorName, type Ctx } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Policy } from '../fleet/model.js';
import { newId } from '../secrets.js';
import { audit } from '../store/audit.js';
import { markAllStale } from '../store/status-columns.js';
import {
  clearDefaultPolicy,
  deletePolicy,
  getPolicyByName,
  insertPolicy,
  listPolicies,
  policyExists,
  policyHasDeployments,
  setPolicyPaused,
  updatePolicy,
} from '../store.js';
import { routes } from './route.js';

function checkHealth(h: HealthGate | null | undefined): void {
  if (
    h &&
    h.max5xxDeltaPoints === undefined &&
    h.maxLoopP99Ratio === undefined &&
    h.maxCrashDelta === undefined
  )
    throw new ValidationError(
      'body.health',
      'a health gate needs at least one of max5xxDeltaPoints, maxLoopP99Ratio, maxCrashDelta',
    );
}

function checkRings(rings: ReadonlyArray<{ name: string }>): void {
  const seen = new Set<string>();
  rings.forEach((r, i) => {
    if (seen.has(r.name))
      throw new ValidationError(`body.rings.${i}.name`, `ring name ${r.name} is used twice`);
    seen.add(r.name);
  });
}

export function publicPolicy(p: Policy) {
  return {
    name: p.name,
    allowHotpatch: p.allowHotpatch,
    rings: p.rings,
    deadlineDays: p.deadlineDays,
    paused: p.paused,
    rollback: p.rollback,
    health: p.health ?? null,
    isDefault: p.isDefault,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** Policies: rings with deferrals, deadline, pause/resume, rollback rule; one is the tenant default. */
export function policiesPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    const find = async (name: string) => {
      const p = await getPolicyByName(ctx.db, name);
      if (!p) throw new NotFoundError(`policy ${name}`, 'name');
      return p;
    };
    r.get('/v1/policies', 'viewer', { response: { 200: PolicyListResponse } }, async () => ({
      policies: (await listPolicies(ctx.db)).map(publicPolicy),
    }));
    r.get(
      '/v1/policies/:name',
      'viewer',
      { params: NameParams, response: { 200: PolicyResponse } },
      async (req) => ({
        policy: publicPolicy(await find(req.params.name)),
      }),
    );
    r.get(
      '/v1/policies/:name/calendar',
      'viewer',
      {
        params: NameParams,
        querystring: CalendarQuery,
        response: { 200: CalendarResponse },
      },
      async (req) => {
        const p = await find(req.params.name);
        return { policy: p.name, ...policyCalendar(p.rings, new Date(), req.query.count ?? 6, ctx.calendar) };
      },
    );
    r.post(
      '/v1/policies',
      'admin',
      { body: PolicyBody, response: { 201: PolicyResponse } },
      async (req, reply) => {
        const b = req.body;
        checkRings(b.rings);
        checkHealth(b.health);
        const id = newId('pol_');
        await ctx.db.transaction(async (tx) => {
          if (await policyExists(tx, b.name)) throw new ConflictError(`policy ${b.name} exists`, 'body.name');
          if (b.isDefault) await clearDefaultPolicy(tx);
          await insertPolicy(tx, {
            id,
            name: b.name,
            allowHotpatch: b.allowHotpatch,
            rings: b.rings,
            deadlineDays: b.deadlineDays ?? 7,
            rollback: b.rollback ?? {},
            isDefault: b.isDefault ?? false,
            health: b.health ?? null,
          });
          await markAllStale(tx);
          await audit(tx, actorName(req), 'policy.create', b.name, b as unknown as Record<string, unknown>);
        });
        await ctx.bus.publish({ kind: 'policy', id });
        return reply.status(201).send({ policy: publicPolicy(await find(b.name)) });
      },
    );
    r.patch(
      '/v1/policies/:name',
      'admin',
      { params: NameParams, body: PolicyPatch, response: { 200: PolicyResponse } },
      async (req) => {
        const p = await find(req.params.name);
        const b = req.body;
        if (b.rings) checkRings(b.rings);
        checkHealth(b.health);
        const health = b.health === undefined ? (p.health ?? null) : b.health;
        await ctx.db.transaction(async (tx) => {
          if (b.isDefault) await clearDefaultPolicy(tx, p.id);
          await updatePolicy(tx, {
            id: p.id,
            allowHotpatch: b.allowHotpatch ?? p.allowHotpatch,
            rings: b.rings ?? p.rings,
            deadlineDays: b.deadlineDays ?? p.deadlineDays,
            rollback: b.rollback ?? p.rollback,
            isDefault: b.isDefault ?? p.isDefault,
            health,
          });
          await markAllStale(tx);
          await audit(tx, actorName(req), 'policy.update', p.name, b as unknown as Record<string, unknown>);
        });
        await ctx.bus.publish({ kind: 'policy', id: p.id });
        return { policy: publicPolicy(await find(p.name)) };
      },
    );
    for (const [verb, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const) {
      r.post(
        `/v1/policies/:name/${verb}`,
        'operator',
        { params: NameParams, response: { 200: PolicyResponse } },
        async (req) => {
          const p = await find(req.params.name);
          await ctx.db.transaction(async (tx) => {
            await setPolicyPaused(tx, p.id, paused);
            await markAllStale(tx);
            await audit(tx, actorName(req), `policy.${verb}`, p.name);
          });
          await ctx.bus.publish({ kind: 'policy', id: p.id });
          return { policy: publicPolicy(await find(p.name)) };
        },
      );
    }
    r.delete(
      '/v1/policies/:name',
      'admin',
      { params: NameParams, response: { 200: DeletedResponse } },
      async (req) => {
        const p = await find(req.params.name);
        if (p.isDefault)
          throw new ConflictError(
            'the default policy cannot be deleted; make another policy the default first',
            'name',
          );
        await ctx.db.transaction(async (tx) => {
          if (await policyHasDeployments(tx, p.id))
            throw new ConflictError(`policy ${p.name} has deployments; pause it instead`, 'name');
          await deletePolicy(tx, p.id);
          await markAllStale(tx);
          await audit(tx, actorName(req), 'policy.delete', p.name);
        });
        return { deleted: p.name };
      },
    );
  };
}
