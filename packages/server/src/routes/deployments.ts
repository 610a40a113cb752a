import { sha256 } from '@hotpatch/core';
import {
  DeploymentCreate as CreateBody,
  DeploymentCreated,
  DeploymentListResponse,
  DeploymentView,
  DeploymentWaitResponse,
  WaitQuery,
} from '@hotpatch/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { audit } from '../audit.js';
import { actorName, type Ctx } from '../context.js';
import type { Sql } from '../db/types.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { evaluate } from '../fleet/evaluate.js';
import { DEVICE_STATES, type Deployment, type DeploymentDevice, TERMINAL_STATES } from '../fleet/model.js';
import { markDeploymentStale } from '../fleet/status-columns.js';
import { newId } from '../secrets.js';
import {
  deploymentRows,
  getBundle,
  getDeployment,
  getPolicyByName,
  listBundles,
  listDevices,
  listPolicies,
  revertDeployment,
  toDeployment,
  upsertRows,
} from '../store.js';
import { routes } from './route.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });

/** Counts per state; settled when no device has anything left to do (reverted: nothing still applied). */
export function summarize(rows: readonly DeploymentDevice[], state: Deployment['state'] = 'active') {
  const counts = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0])) as Record<
    (typeof DEVICE_STATES)[number],
    number
  >;
  for (const r of rows) counts[r.state]++;
  const settled = rows.every(
    (r) => TERMINAL_STATES.has(r.state) && !(state === 'reverted' && r.state === 'applied'),
  );
  return { total: rows.length, counts, settled };
}

/** in progress → completed once every device settled; reverted stays reverted. */
export function deploymentPhase(
  state: Deployment['state'],
  settled: boolean,
): 'in-progress' | 'completed' | 'reverted' {
  if (state === 'reverted') return 'reverted';
  return settled ? 'completed' : 'in-progress';
}

/** Rows for every device in the policy, from stored facts, at creation (connected devices refine them). */
async function plan(tx: Sql, dep: Deployment): Promise<void> {
  const policies = await listPolicies(tx);
  const bundles = new Map((await listBundles(tx)).map((b) => [b.patchId, b]));
  const bundle = bundles.get(dep.patchId);
  if (!bundle) return;
  const now = new Date();
  const rows: Parameters<typeof upsertRows>[1][number][] = [];
  for (const device of await listDevices(tx)) {
    if (device.revokedAt) continue;
    const ev = evaluate({
      deployment: dep,
      device,
      policies,
      bundle,
      bundleOf: (id) => bundles.get(id),
      facts: device.facts,
      row: null,
      instanceId: null,
      alreadySent: false,
      now,
    });
    if (!ev) continue;
    rows.push({
      deploymentId: dep.id,
      deviceId: device.id,
      state: ev.decision.state,
      ring: ev.ring?.name ?? null,
      reason: ev.decision.reason,
      action: ev.decision.action,
      scheduledFor: ev.decision.scheduledFor,
      instanceId: null,
    });
  }
  await upsertRows(tx, rows);
}

/** Deployments: a patch to a policy's rings; per-device states, live; wait, expedite, fleet-wide revert. */
export function deploymentsPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    const find = async (id: string) => {
      const d = await getDeployment(ctx.db, id);
      if (!d) throw new NotFoundError(`deployment ${id}`, 'id');
      return d;
    };
    const view = async (d: Deployment) => {
      const rows = await deploymentRows(ctx.db, d.id);
      const names = new Map(
        (
          await ctx.db.query<{ id: string; host: string; service: string }>(
            'SELECT id, host, service FROM devices',
          )
        ).map((r) => [r.id, `${r.host}/${r.service}`]),
      );
      const policy = (await listPolicies(ctx.db)).find((p) => p.id === d.policyId);
      const health = await ctx.db.query<Record<string, unknown>>(
        'SELECT device_id, ring, verdict, breaches, before, after, reported_at FROM deployment_health WHERE deployment_id = $1 ORDER BY reported_at',
        [d.id],
      );
      const summary = summarize(rows, d.state);
      const bundle = await getBundle(ctx.db, d.patchId);
      return {
        deployment: {
          ...d,
          policy: policy?.name ?? null,
          paused: policy?.paused ?? false,
          policyId: undefined,
          // What lists show next to the patch id, and whether anything is left to do (no Expedite once completed).
          title: bundle?.title ?? null,
          advisories: bundle?.advisories ?? [],
          phase: deploymentPhase(d.state, summary.settled),
        },
        summary,
        devices: rows.map((r) => ({
          ...r,
          device: names.get(r.deviceId) ?? r.deviceId,
          deploymentId: undefined,
        })),
        /** Health gate reports: each device's windows before and after, its verdict and breaches. */
        health: health.map((h) => ({
          deviceId: h.device_id,
          device: names.get(String(h.device_id)) ?? h.device_id,
          ring: h.ring,
          verdict: h.verdict,
          breaches: typeof h.breaches === 'string' ? JSON.parse(h.breaches) : h.breaches,
          before: typeof h.before === 'string' ? JSON.parse(h.before) : h.before,
          after: typeof h.after === 'string' ? JSON.parse(h.after) : h.after,
          reportedAt: h.reported_at instanceof Date ? h.reported_at.toISOString() : h.reported_at,
        })),
      };
    };
    r.post(
      '/v1/deployments',
      'operator',
      { body: CreateBody, response: { 200: DeploymentCreated, 201: DeploymentCreated } },
      async (req, reply) => {
        const bundle = await getBundle(ctx.db, req.body.patchId);
        if (!bundle) throw new NotFoundError(`patch ${req.body.patchId}`, 'body.patchId');
        const policy = await getPolicyByName(ctx.db, req.body.policy);
        if (!policy) throw new NotFoundError(`policy ${req.body.policy}`, 'body.policy');
        const result = await ctx.db.transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock(7245002)');
          const existing = (
            await tx.query(
              "SELECT * FROM deployments WHERE patch_id = $1 AND policy_id = $2 AND state = 'active'",
              [bundle.patchId, policy.id],
            )
          )[0];
          if (existing) return { dep: toDeployment(existing), created: false };
          const id = newId('dep_');
          const rows = await tx.query(
            'INSERT INTO deployments (id, patch_id, policy_id, state, expedite, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
            [id, bundle.patchId, policy.id, 'active', req.body.expedite ?? false, actorName(req)],
          );
          const dep = toDeployment(rows[0] as Record<string, unknown>);
          await plan(tx, dep);
          await markDeploymentStale(tx, dep.id);
          await audit(tx, actorName(req), 'deployment.create', id, {
            patchId: bundle.patchId,
            policy: policy.name,
            expedite: req.body.expedite ?? false,
          });
          return { dep, created: true };
        });
        if (result.created) await ctx.bus.publish({ kind: 'deployment', id: result.dep.id });
        return reply
          .status(result.created ? 201 : 200)
          .send({ ...(await view(result.dep)), created: result.created });
      },
    );
    r.get('/v1/deployments', 'viewer', { response: { 200: DeploymentListResponse } }, async () => {
      const deps = (await ctx.db.query('SELECT * FROM deployments ORDER BY created_at DESC')).map(
        toDeployment,
      );
      const out = [];
      for (const d of deps) {
        const v = await view(d);
        out.push({ ...v.deployment, summary: v.summary });
      }
      return { deployments: out };
    });
    r.get(
      '/v1/deployments/:id',
      'viewer',
      { params: IdParams, response: { 200: DeploymentView } },
      async (req) => view(await find(req.params.id)),
    );
    // Long poll: answers when the deployment's device states change (any replica) or after timeoutMs.
    r.get(
      '/v1/deployments/:id/wait',
      'viewer',
      { params: IdParams, querystring: WaitQuery, response: { 200: DeploymentWaitResponse } },
      async (req) => {
        const d = await find(req.params.id);
        const first = await view(d);
        const fingerprint = (v: typeof first) =>
          sha256(
            JSON.stringify([
              v.deployment.state,
              v.deployment.haltReason ?? null,
              v.health.length,
              v.devices.map((r) => [r.deviceId, r.state, r.reason]),
            ]),
          ).slice(0, 32);
        if (req.query.since === undefined || req.query.since !== fingerprint(first))
          return { ...first, fingerprint: fingerprint(first) };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, req.query.timeoutMs ?? 10_000);
          function done() {
            clearTimeout(timer);
            ctx.bus.off('event', on);
            req.raw.off('close', done);
            resolve();
          }
          const on = (e: { kind: string; deploymentId?: string; id?: string }) => {
            if ((e.kind === 'state' && e.deploymentId === d.id) || (e.kind === 'deployment' && e.id === d.id))
              done();
          };
          ctx.bus.on('event', on);
          req.raw.on('close', done);
        });
        const v = await view(await find(d.id));
        return { ...v, fingerprint: fingerprint(v) };
      },
    );
    r.post(
      '/v1/deployments/:id/expedite',
      'operator',
      { params: IdParams, response: { 200: DeploymentView } },
      async (req) => {
        const d = await find(req.params.id);
        if (d.state !== 'active') throw new ConflictError(`deployment ${d.id} is ${d.state}`, 'id');
        if (summarize(await deploymentRows(ctx.db, d.id)).settled)
          throw new ConflictError(`deployment ${d.id} is completed: no device is waiting`, 'id');
        await ctx.db.transaction(async (tx) => {
          await tx.query('UPDATE deployments SET expedite = true WHERE id = $1', [d.id]);
          await audit(tx, actorName(req), 'deployment.expedite', d.id);
        });
        await ctx.bus.publish({ kind: 'deployment', id: d.id });
        return view(await find(d.id));
      },
    );
    r.post(
      '/v1/deployments/:id/revert',
      'operator',
      { params: IdParams, response: { 200: DeploymentView } },
      async (req) => {
        const d = await find(req.params.id);
        if (d.state === 'active') {
          await ctx.db.transaction(async (tx) => {
            if (await revertDeployment(tx, d.id, `reverted by ${actorName(req)}`))
              await audit(tx, actorName(req), 'deployment.revert', d.id);
          });
          await ctx.bus.publish({ kind: 'deployment', id: d.id });
        }
        return view(await find(d.id));
      },
    );
  };
}
