/**
 * Readiness ("what if"): which devices would take a hotpatch if it were deployed now, and for the
 * rest why not, in words (key not trusted by the runtime, another baseline loaded, policy
 * disallows, engine or Node unsupported). The same eligibility rule the scheduler applies.
 */
import { ReadinessParams, ReadinessQuery, ReadinessResponse } from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { bundleEligibility, eligibilityWhy } from '../fleet/bundle-eligibility.js';
import { placeDevice } from '../fleet/placement.js';
import { getBundle, getPolicyByName, listDevices, listPolicies } from '../store.js';
import { routes } from './route.js';

export function readinessPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.get(
      '/v1/bundles/:patchId/readiness',
      'viewer',
      { params: ReadinessParams, querystring: ReadinessQuery, response: { 200: ReadinessResponse } },
      async (req): Promise<ReadinessResponse> => {
        const bundle = await getBundle(ctx.db, req.params.patchId);
        if (!bundle) throw new NotFoundError(`patch ${req.params.patchId}`, 'patchId');
        const only = req.query.policy ? await getPolicyByName(ctx.db, req.query.policy) : null;
        if (req.query.policy && !only) throw new NotFoundError(`policy ${req.query.policy}`, 'policy');
        const policies = await listPolicies(ctx.db);
        const devices: ReadinessResponse['devices'] = [];
        for (const d of await listDevices(ctx.db)) {
          if (d.revokedAt) continue;
          const place = placeDevice(d, policies);
          if (only && place?.policy.id !== only.id) continue;
          const e = bundleEligibility(
            d.facts,
            place ? { name: place.policy.name, allowHotpatch: place.policy.allowHotpatch } : null,
            bundle,
          );
          devices.push({
            deviceId: d.id,
            device: `${d.host}/${d.service}`,
            policy: place?.policy.name ?? null,
            ring: place?.ring?.name ?? null,
            readiness: e.status,
            why: eligibilityWhy(e),
            codes: e.status === 'ineligible' ? e.reasons.map((r) => r.code) : [],
            action: e.status === 'ineligible' ? e.action : null,
          });
        }
        const count = (s: string) => devices.filter((x) => x.readiness === s).length;
        return {
          patchId: bundle.patchId,
          target: `${bundle.targetName}@${bundle.targetBaseline}`,
          policy: only?.name ?? null,
          counts: {
            eligible: count('eligible'),
            ineligible: count('ineligible'),
            notApplicable: count('not-applicable'),
          },
          devices,
        };
      },
    );
  };
}
