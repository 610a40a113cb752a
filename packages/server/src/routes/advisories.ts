/**
 * Advisories (OSV): import (one record or many), list with the devices each affects and how to
 * fix them, delete. An optional URL sync runs on a schedule where one is configured.
 */
import {
  AdvisoryIdParams,
  AdvisoryImport,
  AdvisoryImportResponse,
  AdvisoryListResponse,
  type AdvisoryView,
  DeletedResponse,
  type OsvRecord,
} from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { importAdvisories } from '../advisories/import.js';
import { loadStatusSources } from '../advisories/load.js';
import { statusOf } from '../advisories/match.js';
import { advisoryIds, affectedNames } from '../advisories/osv.js';
import { actorName, type Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { placeDevice } from '../fleet/placement.js';
import { advisoryRecords, deleteAdvisory, listAdvisories } from '../store/advisories.js';
import { audit } from '../store/audit.js';
import { devicesAffected } from '../store/device-query.js';
import { markAdvisoriesStale } from '../store/status-columns.js';
import { listPolicies } from '../store.js';
import { routes } from './route.js';

export function advisoriesPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.post(
      '/v1/advisories',
      'admin',
      { body: AdvisoryImport, response: { 200: AdvisoryImportResponse } },
      async (req) => {
        const records = 'advisories' in req.body ? req.body.advisories : [req.body as OsvRecord];
        return importAdvisories(ctx.db, records, 'api', actorName(req));
      },
      // An export of many OSV records is larger than the default body limit.
      { bodyLimit: 32 * 1024 * 1024 },
    );
    r.get('/v1/advisories', 'viewer', { response: { 200: AdvisoryListResponse } }, async () => {
      const [stored, policies, sources] = await Promise.all([
        listAdvisories(ctx.db),
        listPolicies(ctx.db),
        loadStatusSources(ctx.db),
      ]);
      // Only devices on a version an advisory affects can be (stored versions): 10,000 → those.
      const devices = await devicesAffected(
        ctx.db,
        stored.map(({ record }) => record),
      );
      const affectedBy = new Map<string, AdvisoryView['affected']>();
      for (const d of devices) {
        if (d.revokedAt) continue;
        const place = placeDevice(d, policies);
        const policy = place
          ? {
              name: place.policy.name,
              allowHotpatch: place.policy.allowHotpatch,
              paused: place.policy.paused,
            }
          : null;
        const { findings } = statusOf(
          { facts: d.facts, revoked: false, policy, rows: [] },
          sources.index,
          sources.bundles,
        );
        for (const f of findings) {
          const key = f.ids.join(' ');
          affectedBy.set(key, [
            ...(affectedBy.get(key) ?? []),
            {
              deviceId: d.id,
              device: `${d.host}/${d.service}`,
              package: f.name,
              version: f.version,
              remedy: f.hotpatch?.eligible ? 'hotpatch available' : 'baseline needed',
              patchId: f.hotpatch?.patchId ?? null,
              fixedIn: f.fixedIn,
            },
          ]);
        }
      }
      const advisories: AdvisoryView[] = stored.map(({ record, source }) => {
        const ids = advisoryIds(record);
        const affected = affectedBy.get(ids.join(' ')) ?? [];
        const hotpatches = sources.bundles
          .filter((b) => b.advisories.some((a) => ids.includes(a)))
          .map((b) => ({ patchId: b.patchId, target: `${b.targetName}@${b.targetBaseline}` }));
        const unpatched = affected.find((a) => !a.patchId);
        return {
          id: record.id,
          ids,
          summary: record.summary ?? '',
          published: record.published ?? null,
          modified: record.modified,
          withdrawn: Boolean(record.withdrawn),
          source,
          packages: affectedNames(record),
          affected,
          hotpatches,
          buildCommand: unpatched
            ? `hotpatch build --from npm:${unpatched.package}@${unpatched.version} --to npm:${unpatched.package}@${unpatched.fixedIn ?? '<fixed version>'} --advisory ${ids[0]} --key <publisher key> --out ${unpatched.package}-${unpatched.version}-hp.bundle`
            : null,
        };
      });
      // Exposed first: advisories affecting devices, most devices first.
      advisories.sort((a, b) => b.affected.length - a.affected.length || a.id.localeCompare(b.id));
      return { advisories };
    });
    r.delete(
      '/v1/advisories/:id',
      'admin',
      { params: AdvisoryIdParams, response: { 200: DeletedResponse } },
      async (req) => {
        const removed = await ctx.db.transaction(async (tx) => {
          await markAdvisoriesStale(tx, await advisoryRecords(tx, [req.params.id]));
          const ok = await deleteAdvisory(tx, req.params.id);
          if (ok) await audit(tx, actorName(req), 'advisory.delete', req.params.id);
          return ok;
        });
        if (!removed) throw new NotFoundError(`advisory ${req.params.id}`, 'id');
        return { deleted: req.params.id };
      },
    );
  };
}
