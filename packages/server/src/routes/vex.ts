/**
 * GET /v1/vex: what scanners should believe about the fleet's running processes. OpenVEX 0.2.0
 * (default) or CycloneDX 1.5 (`?format=cyclonedx`), for the fleet, one device (`?device=`) or one
 * service (`?service=`). Only connected devices count: their facts are what runs now.
 */
import { deviceReasons } from '@hotpatch/core';
import { VexDocument, VexQuery } from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import type { BundleMeta, Device, Policy } from '../fleet/model.js';
import { placeDevice } from '../fleet/placement.js';
import { listBundles, listDevices, listPolicies } from '../store.js';
import { cycloneDxVex, openVex } from '../vex/documents.js';
import { type VexInstance, type VexPatch, vexStatements } from '../vex/model.js';
import { routes } from './route.js';

export const SERVER_VERSION = '0.1.0';

export function catalogOf(bundles: readonly BundleMeta[]): VexPatch[] {
  return bundles.map((b) => ({
    patchId: b.patchId,
    version: b.version,
    target: `${b.targetName}@${b.targetBaseline}`,
    advisories: b.advisories,
    fixedIn: b.fixedIn,
  }));
}

export function instanceOf(d: Device, policies: readonly Policy[]): VexInstance | null {
  const f = d.facts;
  if (!f || !d.connected || d.revokedAt) return null;
  const place = placeDevice(d, policies);
  const policy = place ? { name: place.policy.name, allowHotpatch: place.policy.allowHotpatch } : null;
  return {
    name: `${d.host}/${d.service} pid ${f.pid}`,
    pid: f.pid,
    startedAt: f.startedAt,
    hotpatchable: deviceReasons(f, policy).length === 0,
    packages: f.packages,
    patches: f.patches,
  };
}

export function vexPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.get('/v1/vex', 'viewer', { querystring: VexQuery, response: { 200: VexDocument } }, async (req) => {
      const q = req.query;
      const [devices, policies, bundles] = await Promise.all([
        listDevices(ctx.db),
        listPolicies(ctx.db),
        listBundles(ctx.db),
      ]);
      const chosen = devices.filter(
        (d) => (!q.device || d.id === q.device) && (!q.service || d.service === q.service),
      );
      if (q.device && chosen.length === 0)
        throw new NotFoundError(`device ${q.device}`, 'querystring.device');
      const instances = chosen
        .map((d) => instanceOf(d, policies))
        .filter((i): i is VexInstance => i !== null);
      const statements = vexStatements(catalogOf(bundles), instances);
      const scope = q.device ? `device ${q.device}` : q.service ? `service ${q.service}` : 'fleet';
      const meta = {
        author: `Hotpatch control plane (${scope})`,
        scope,
        now: new Date(),
        toolVersion: SERVER_VERSION,
        ...(q.product ? { product: q.product } : {}),
      };
      if (q.format === 'cyclonedx') return cycloneDxVex(statements, meta);
      // OpenVEX needs at least one statement: saying "nothing" is not a document.
      if (statements.length === 0)
        throw new NotFoundError(
          `VEX statements for ${scope} (no connected process loads a component a published hotpatch was built for)`,
        );
      return openVex(statements, meta);
    });
  };
}
