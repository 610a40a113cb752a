/**
 * Readiness ("what if"): which devices would take a hotpatch if it were deployed now, and for the
 * rest why not, in words (key not trusted by the runtime, another baseline loaded, policy
 * disallows, engine or Node unsupported). The same eligibility rule the scheduler applies.
 */
import { hotpatchEligibility } from '@hotpatch/core';
import { ReadinessQuery, ReadinessResponse, reasonInWords } from '@hotpatch/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { placeDevice } from '../fleet/placement.js';
import { getBundle, getPolicyByName, listDevices, listPolicies } from '../store.js';
import { routes } from './route.js';

const Params = Type.Object({ patchId: Type.String({ minLength: 1, maxLength: 200 }) });

export function readinessPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.get(
      '/v1/bundles/:patchId/readiness',
      'viewer',
      { params: Params, querystring: ReadinessQuery, response: { 200: ReadinessResponse } },
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
          const e = hotpatchEligibility(
            d.facts,
            place ? { name: place.policy.name, allowHotpatch: place.policy.allowHotpatch } : null,
            {
              name: bundle.targetName,
              baseline: bundle.targetBaseline,
              files: bundle.files,
              fixedIn: bundle.fixedIn,
              keyId: bundle.keyId,
            },
          );
          devices.push({
            deviceId: d.id,
            device: `${d.host}/${d.service}`,
            policy: place?.policy.name ?? null,
            ring: place?.ring?.name ?? null,
            readiness: e.status,
            why:
              e.status === 'ineligible'
                ? e.reasons.map((r) => reasonInWords(`${r.code}: ${r.message}`)).join('; ')
                : e.status === 'not-applicable'
                  ? e.reason
                  : '',
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
