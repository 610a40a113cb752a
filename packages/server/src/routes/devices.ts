import {
  DeletedResponse,
  DeviceDetailResponse,
  type DeviceListItem,
  DeviceListQuery,
  DeviceListResponse,
  DevicePatch,
  DeviceResponse,
  DeviceSummaryResponse,
  type DeviceView,
  IdParams,
  RevokedResponse,
} from '@hotpatch/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { loadStatusSources, type StatusSources } from '../advisories/load.js';
import { actorName, type Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assessDevice } from '../fleet/device-assess.js';
import { devicesCsv } from '../fleet/device-list.js';
import type { Device, Policy } from '../fleet/model.js';
import { refreshStatus } from '../fleet/status-columns.js';
import { audit } from '../store/audit.js';
import { csvRows, fleetSummary, pageIds, statusCounts } from '../store/device-query.js';
import { markDevicesStale } from '../store/status-columns.js';
import {
  deleteDevice,
  deviceInstances,
  getDevice,
  getDevices,
  getPolicyByName,
  listPolicies,
  revokeDevice,
  updateDevicePlacement,
} from '../store.js';
import { routes } from './route.js';

/** A device as the API shows it: identity, placement, eligibility, status and components (attention first). */
export function deviceView(d: Device, policies: readonly Policy[], sources: StatusSources): DeviceView {
  const { place, reasons, status, findings } = assessDevice(d, policies, sources);
  const f = d.facts;
  const components = (f?.packages ?? []).map((p) => {
    const patches = (f?.patches ?? []).filter((x) => x.target === `${p.name}@${p.version}`);
    const top = patches.at(-1);
    const found = findings.filter((x) => x.name === p.name && x.version === p.version);
    return {
      name: p.name,
      baseline: p.version,
      version: top?.version ?? p.version,
      vulnerable: [...new Set(found.map((x) => x.ids[0] ?? '?'))],
      remedy:
        found.length === 0
          ? null
          : found.every((x) => x.hotpatch?.eligible)
            ? 'hotpatch available'
            : 'baseline needed',
      patches: patches.map((x) => ({ patchId: x.patchId, version: x.version, state: x.state })),
    };
  });
  // What needs attention first: vulnerable, then hotpatched, then the rest by name.
  const rank = (c: (typeof components)[number]) => (c.vulnerable.length ? 0 : c.patches.length ? 1 : 2);
  components.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return {
    id: d.id,
    host: d.host,
    service: d.service,
    labels: d.labels,
    policy: place?.policy.name ?? null,
    ring: place?.ring?.name ?? null,
    connected: d.connected,
    lastSeen: d.lastSeen,
    enrolledAt: d.enrolledAt,
    revoked: d.revokedAt !== null,
    instance: f ? { pid: f.pid, startedAt: f.startedAt } : null,
    node: f?.node ?? null,
    engine: f?.engine ?? null,
    signatureEnforcement: f?.signatureEnforcement ?? null,
    eligible: reasons.length === 0,
    reasons,
    status,
    components,
  };
}

/** A device as the list shows it: the components needing attention (listed first by deviceView), the rest counted. */
export function listItem(view: DeviceView): DeviceListItem {
  const { components, ...rest } = view;
  const notable = components.filter((c) => c.vulnerable.length > 0 || c.patches.length > 0);
  return { ...rest, notable, otherComponents: components.length - notable.length };
}

export function devicesPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    /** The devices of one page with their notable components, in the page's order (facts read for these only). */
    const views = async (ids: readonly string[]): Promise<DeviceListItem[]> => {
      if (ids.length === 0) return [];
      const devices = await getDevices(ctx.db, ids);
      const names = [...new Set(devices.flatMap((d) => (d.facts?.packages ?? []).map((p) => p.name)))];
      const [policies, sources] = await Promise.all([
        listPolicies(ctx.db),
        loadStatusSources(ctx.db, ids, names),
      ]);
      const byId = new Map(devices.map((d) => [d.id, listItem(deviceView(d, policies, sources))]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    };
    r.get(
      '/v1/devices',
      'viewer',
      { querystring: DeviceListQuery, response: { 200: DeviceListResponse } },
      async (req) => {
        await refreshStatus(ctx.db);
        const [{ ids, total }, counts] = await Promise.all([
          pageIds(ctx.db, req.query),
          statusCounts(ctx.db),
        ]);
        return { devices: await views(ids), total, counts };
      },
    );
    r.get('/v1/devices/summary', 'viewer', { response: { 200: DeviceSummaryResponse } }, async () => {
      await refreshStatus(ctx.db);
      return fleetSummary(ctx.db, 12);
    });
    r.get(
      '/v1/devices.csv',
      'viewer',
      { querystring: DeviceListQuery, response: { 200: Type.String() } },
      async (req, reply) => {
        await refreshStatus(ctx.db);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="devices.csv"')
          .send(devicesCsv(await csvRows(ctx.db, req.query)));
      },
    );
    const find = async (id: string) => {
      const d = await getDevice(ctx.db, id);
      if (!d) throw new NotFoundError(`device ${id}`, 'id');
      return d;
    };
    r.get(
      '/v1/devices/:id',
      'viewer',
      { params: IdParams, response: { 200: DeviceDetailResponse } },
      async (req) => {
        const d = await find(req.params.id);
        const instances = await deviceInstances(ctx.db, d.id);
        const sources = await loadStatusSources(ctx.db, d.id);
        return { device: deviceView(d, await listPolicies(ctx.db), sources), instances, facts: d.facts };
      },
    );
    r.patch(
      '/v1/devices/:id',
      'admin',
      { params: IdParams, body: DevicePatch, response: { 200: DeviceResponse } },
      async (req) => {
        const d = await find(req.params.id);
        let policyId = d.policyId;
        if (req.body.policy !== undefined) {
          if (req.body.policy === null) policyId = null;
          else {
            const p = await getPolicyByName(ctx.db, req.body.policy);
            if (!p) throw new NotFoundError(`policy ${req.body.policy}`, 'body.policy');
            policyId = p.id;
          }
        }
        await ctx.db.transaction(async (tx) => {
          await updateDevicePlacement(tx, d.id, req.body.labels ?? d.labels, policyId);
          await markDevicesStale(tx, [d.id]);
          await audit(tx, actorName(req), 'device.update', d.id, req.body);
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        const sources = await loadStatusSources(ctx.db, d.id);
        return { device: deviceView(await find(d.id), await listPolicies(ctx.db), sources) };
      },
    );
    r.post(
      '/v1/devices/:id/revoke',
      'admin',
      { params: IdParams, response: { 200: RevokedResponse } },
      async (req) => {
        const d = await find(req.params.id);
        await ctx.db.transaction(async (tx) => {
          await revokeDevice(tx, d.id);
          await markDevicesStale(tx, [d.id]);
          await audit(tx, actorName(req), 'device.revoke', d.id, { host: d.host, service: d.service });
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        return { revoked: d.id };
      },
    );
    r.delete(
      '/v1/devices/:id',
      'admin',
      { params: IdParams, response: { 200: DeletedResponse } },
      async (req) => {
        const d = await find(req.params.id);
        await ctx.db.transaction(async (tx) => {
          await deleteDevice(tx, d.id);
          await audit(tx, actorName(req), 'device.delete', d.id, { host: d.host, service: d.service });
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        return { deleted: d.id };
      },
    );
  };
}
