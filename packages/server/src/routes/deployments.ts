import type { EventEmitter } from 'node:events';
import { sha256 } from '@hotpatch/core';
import {
  DeploymentCreate as CreateBody,
  DeploymentCreated,
  DeploymentCreateQuery,
  DeploymentListResponse,
  DeploymentProgress,
  DeploymentView,
  DeploymentWaitResponse,
  IdParams,
  WaitQuery,
} from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { actorName, type Ctx } from '../context.js';
import type { Sql } from '../db/types.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { evaluate } from '../fleet/evaluate.js';
import {
  type BundleMeta,
  DEVICE_STATES,
  type Deployment,
  type DeploymentDevice,
  type Policy,
  TERMINAL_STATES,
} from '../fleet/model.js';
import { kickRefresh } from '../fleet/status-columns.js';
import { newId } from '../secrets.js';
import { audit } from '../store/audit.js';
import { markDeploymentStaleInChunks } from '../store/status-columns.js';
import {
  activeDeployment,
  allDeploymentRows,
  deploymentHealth,
  deploymentHealthCount,
  deploymentRows,
  deploymentStateCounts,
  deviceNames,
  expediteDeployment,
  getBundle,
  getDeployment,
  getPolicyByName,
  insertDeployment,
  listBundles,
  listDeployments,
  listDevices,
  listPolicies,
  lock,
  revertDeployment,
  upsertRows,
} from '../store.js';
import { routes } from './route.js';

/** The request a long poll answers: it ends early when the client goes away. */
type Client = EventEmitter & { destroyed?: boolean };

/** Counts per state; settled when no device has anything left to do (reverted: nothing still applied). */
export function summarize(rows: readonly DeploymentDevice[], state: Deployment['state'] = 'active') {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return summarizeCounts(counts, state);
}

/** The same summary from counts per state (GROUP BY state), without reading every row. */
export function summarizeCounts(byState: ReadonlyMap<string, number>, state: Deployment['state'] = 'active') {
  const counts = Object.fromEntries(DEVICE_STATES.map((s) => [s, byState.get(s) ?? 0])) as Record<
    (typeof DEVICE_STATES)[number],
    number
  >;
  const settled = DEVICE_STATES.every(
    (s) => counts[s] === 0 || (TERMINAL_STATES.has(s) && !(state === 'reverted' && s === 'applied')),
  );
  return { total: DEVICE_STATES.reduce((n, s) => n + counts[s], 0), counts, settled };
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

/** A deployment as views show it: its policy by name, the patch's title and advisories, its phase. */
function deploymentInfo(
  d: Deployment,
  policy: Policy | undefined,
  bundle: BundleMeta | null | undefined,
  summary: ReturnType<typeof summarize>,
) {
  return {
    ...d,
    policy: policy?.name ?? null,
    paused: policy?.paused ?? false,
    policyId: undefined,
    // What lists show next to the patch id, and whether anything is left to do (no Expedite once completed).
    title: bundle?.title ?? null,
    advisories: bundle?.advisories ?? [],
    phase: deploymentPhase(d.state, summary.settled),
  };
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
      const names = await deviceNames(ctx.db);
      const policy = (await listPolicies(ctx.db)).find((p) => p.id === d.policyId);
      const health = await deploymentHealth(ctx.db, d.id);
      const summary = summarize(rows, d.state);
      const bundle = await getBundle(ctx.db, d.patchId);
      return {
        deployment: deploymentInfo(d, policy, bundle, summary),
        summary,
        devices: rows.map((r) => ({
          ...r,
          device: names.get(r.deviceId) ?? r.deviceId,
          deploymentId: undefined,
        })),
        /** Health gate reports: each device's windows before and after, its verdict and breaches. */
        health: health.map((h) => ({ ...h, device: names.get(String(h.deviceId)) ?? h.deviceId })),
      };
    };
    const progress = async (d: Deployment) => {
      const [byState, healthReports, policies, bundle] = await Promise.all([
        deploymentStateCounts(ctx.db, d.id),
        deploymentHealthCount(ctx.db, d.id),
        listPolicies(ctx.db),
        getBundle(ctx.db, d.patchId),
      ]);
      const summary = summarizeCounts(byState, d.state);
      const policy = policies.find((p) => p.id === d.policyId);
      return { deployment: deploymentInfo(d, policy, bundle, summary), summary, healthReports };
    };
    r.post(
      '/v1/deployments',
      'operator',
      {
        body: CreateBody,
        querystring: DeploymentCreateQuery,
        response: { 200: DeploymentCreated, 201: DeploymentCreated },
      },
      async (req, reply) => {
        const bundle = await getBundle(ctx.db, req.body.patchId);
        if (!bundle) throw new NotFoundError(`patch ${req.body.patchId}`, 'body.patchId');
        const policy = await getPolicyByName(ctx.db, req.body.policy);
        if (!policy) throw new NotFoundError(`policy ${req.body.policy}`, 'body.policy');
        const result = await ctx.db.transaction(async (tx) => {
          await lock(tx, 'deploymentCreate');
          const existing = await activeDeployment(tx, bundle.patchId, policy.id);
          if (existing) return { dep: existing, created: false };
          const id = newId('dep_');
          const dep = await insertDeployment(tx, {
            id,
            patchId: bundle.patchId,
            policyId: policy.id,
            expedite: req.body.expedite ?? false,
            createdBy: actorName(req),
          });
          await plan(tx, dep);
          await audit(tx, actorName(req), 'deployment.create', id, {
            patchId: bundle.patchId,
            policy: policy.name,
            expedite: req.body.expedite ?? false,
          });
          return { dep, created: true };
        });
        if (result.created) {
          await ctx.bus.publish({ kind: 'deployment', id: result.dep.id });
          // The deploys go out first; the devices' status columns learn of the new rows after the
          // commit (as status-columns.ts allows), in the background: at 10,000 devices, marks that
          // compete with the devices' own writes held the answer back by 4-5 s.
          const warn = (what: string) => (e: Error) => req.log.warn({ err: e.message.slice(0, 200) }, what);
          void markDeploymentStaleInChunks(ctx.db, result.dep.id).then(
            () => kickRefresh(ctx.db, warn('device status refresh failed'), 0),
            warn("marking the deployment's devices stale failed"),
          );
        }
        const answer =
          req.query.view === 'summary'
            ? { ...(await progress(result.dep)), devices: [], health: [], healthReports: undefined }
            : await view(result.dep);
        return reply.status(result.created ? 201 : 200).send({ ...answer, created: result.created });
      },
    );
    r.get('/v1/deployments', 'viewer', { response: { 200: DeploymentListResponse } }, async () => {
      // Four queries for the whole list, whatever its length (was five per deployment).
      const [deps, rows, policies, bundles] = await Promise.all([
        listDeployments(ctx.db),
        allDeploymentRows(ctx.db),
        listPolicies(ctx.db),
        listBundles(ctx.db),
      ]);
      const rowsOf = new Map<string, DeploymentDevice[]>();
      for (const row of rows) {
        const list = rowsOf.get(row.deploymentId);
        if (list) list.push(row);
        else rowsOf.set(row.deploymentId, [row]);
      }
      return {
        deployments: deps.map((d) => {
          const summary = summarize(rowsOf.get(d.id) ?? [], d.state);
          const policy = policies.find((p) => p.id === d.policyId);
          const bundle = bundles.find((b) => b.patchId === d.patchId);
          return { ...deploymentInfo(d, policy, bundle, summary), summary };
        }),
      };
    });
    r.get(
      '/v1/deployments/:id',
      'viewer',
      { params: IdParams, response: { 200: DeploymentView } },
      async (req) => view(await find(req.params.id)),
    );
    // Long poll: answers when the deployment's device states change (any replica) or after timeoutMs.
    // `watched` is what a waiter is told about: its hash is the fingerprint passed back as `since`.
    const longPoll = async <V>(
      id: string,
      query: { since?: string; timeoutMs?: number },
      client: Client,
      build: (d: Deployment) => Promise<V>,
      watched: (v: V) => unknown,
    ) => {
      const answer = (v: V) => ({ ...v, fingerprint: sha256(JSON.stringify(watched(v))).slice(0, 32) });
      const d = await find(id);
      let latest = answer(await build(d));
      if (query.since === undefined) return latest;
      // An event may change nothing a waiter watches (a device re-reporting its state): wait on
      // until what is watched differs from `since`, the time is up, or the client has gone.
      const deadline = Date.now() + (query.timeoutMs ?? 10_000);
      while (latest.fingerprint === query.since) {
        const why = await changeOf(d.id, deadline - Date.now(), client);
        if (why === 'gone') break;
        latest = answer(await build(await find(d.id)));
        if (why === 'timeout') break;
      }
      return latest;
    };
    // The deployment's next state event, the end of timeoutMs, or the client gone (or already gone).
    const changeOf = (deploymentId: string, timeoutMs: number, client: Client) =>
      new Promise<'event' | 'timeout' | 'gone'>((resolve) => {
        if (client.destroyed) return resolve('gone');
        const timer = setTimeout(() => done('timeout'), timeoutMs);
        const gone = () => done('gone');
        function done(why: 'event' | 'timeout' | 'gone') {
          clearTimeout(timer);
          ctx.bus.off('event', on);
          client.off('close', gone);
          resolve(why);
        }
        const on = (e: { kind: string; deploymentId?: string; id?: string }) => {
          if (
            (e.kind === 'state' && e.deploymentId === deploymentId) ||
            (e.kind === 'deployment' && e.id === deploymentId)
          )
            done('event');
        };
        ctx.bus.on('event', on);
        client.once('close', gone);
      });
    r.get(
      '/v1/deployments/:id/wait',
      'viewer',
      { params: IdParams, querystring: WaitQuery, response: { 200: DeploymentWaitResponse } },
      async (req) =>
        longPoll(req.params.id, req.query, req.raw, view, (v) => [
          v.deployment.state,
          v.deployment.haltReason ?? null,
          v.health.length,
          v.devices.map((r) => [r.deviceId, r.state, r.reason]),
        ]),
    );
    // The same long poll with counts only: what a script or a large fleet's progress bar needs.
    r.get(
      '/v1/deployments/:id/progress',
      'viewer',
      { params: IdParams, querystring: WaitQuery, response: { 200: DeploymentProgress } },
      async (req) =>
        longPoll(req.params.id, req.query, req.raw, progress, (v) => [
          v.deployment.state,
          v.deployment.haltReason ?? null,
          v.healthReports,
          v.summary.counts,
        ]),
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
          await expediteDeployment(tx, d.id);
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
