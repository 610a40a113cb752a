import {
  DeletedResponse,
  DeviceDetailResponse,
  type DeviceListItem,
  DeviceListQuery,
  DeviceListResponse,
  DeviceResponse,
  DeviceSummaryResponse,
  type DeviceView,
  Labels,
  RevokedResponse,
} from '@hotpatch/protocol';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { loadStatusSources, type StatusSources } from '../advisories/load.js';
import { audit } from '../audit.js';
import { actorName, type Ctx } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assessDevice } from '../fleet/device-assess.js';
import { devicesCsv } from '../fleet/device-list.js';
import { csvRows, fleetSummary, pageIds, statusCounts } from '../fleet/device-query.js';
import type { Device, Policy } from '../fleet/model.js';
import { markDevicesStale, refreshStatus } from '../fleet/status-columns.js';
import { getDevice, getPolicyByName, listPolicies, toDevice } from '../store.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });
const DevicePatch = Type.Object(
  {
    labels: Type.Optional(Labels),
    policy: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  },
  { additionalProperties: false },
);

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
    /** The devices of one page with their notable components, in the page's order (facts read for these only). */
    const views = async (ids: readonly string[]): Promise<DeviceListItem[]> => {
      if (ids.length === 0) return [];
      const devices = (await ctx.db.query('SELECT * FROM devices WHERE id = ANY($1)', [ids])).map(toDevice);
      const names = [...new Set(devices.flatMap((d) => (d.facts?.packages ?? []).map((p) => p.name)))];
      const [policies, sources] = await Promise.all([
        listPolicies(ctx.db),
        loadStatusSources(ctx.db, ids, names),
      ]);
      const byId = new Map(devices.map((d) => [d.id, listItem(deviceView(d, policies, sources))]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    };
    app.get<{ Querystring: DeviceListQuery }>(
      '/v1/devices',
      {
        onRequest: ctx.requireRole('viewer'),
        schema: { querystring: DeviceListQuery, response: { 200: DeviceListResponse } },
      },
      async (req) => {
        await refreshStatus(ctx.db);
        const [{ ids, total }, counts] = await Promise.all([
          pageIds(ctx.db, req.query),
          statusCounts(ctx.db),
        ]);
        return { devices: await views(ids), total, counts };
      },
    );
    app.get(
      '/v1/devices/summary',
      { onRequest: ctx.requireRole('viewer'), schema: { response: { 200: DeviceSummaryResponse } } },
      async () => {
        await refreshStatus(ctx.db);
        return fleetSummary(ctx.db, 12);
      },
    );
    app.get<{ Querystring: DeviceListQuery }>(
      '/v1/devices.csv',
      {
        onRequest: ctx.requireRole('viewer'),
        schema: { querystring: DeviceListQuery, response: { 200: Type.String() } },
      },
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
    app.get<{ Params: Static<typeof IdParams> }>(
      '/v1/devices/:id',
      {
        onRequest: ctx.requireRole('viewer'),
        schema: { params: IdParams, response: { 200: DeviceDetailResponse } },
      },
      async (req) => {
        const d = await find(req.params.id);
        const instances = await ctx.db.query(
          'SELECT pid, started_at, first_seen, last_seen, node FROM instances WHERE device_id = $1 ORDER BY started_at',
          [d.id],
        );
        const sources = await loadStatusSources(ctx.db, d.id);
        return { device: deviceView(d, await listPolicies(ctx.db), sources), instances, facts: d.facts };
      },
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof DevicePatch> }>(
      '/v1/devices/:id',
      {
        onRequest: ctx.requireRole('admin'),
        schema: { params: IdParams, body: DevicePatch, response: { 200: DeviceResponse } },
      },
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
          await tx.query('UPDATE devices SET labels = $2, policy_id = $3 WHERE id = $1', [
            d.id,
            JSON.stringify(req.body.labels ?? d.labels),
            policyId,
          ]);
          await markDevicesStale(tx, [d.id]);
          await audit(tx, actorName(req), 'device.update', d.id, req.body as Record<string, unknown>);
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        const sources = await loadStatusSources(ctx.db, d.id);
        return { device: deviceView(await find(d.id), await listPolicies(ctx.db), sources) };
      },
    );
    app.post<{ Params: Static<typeof IdParams> }>(
      '/v1/devices/:id/revoke',
      {
        onRequest: ctx.requireRole('admin'),
        schema: { params: IdParams, response: { 200: RevokedResponse } },
      },
      async (req) => {
        const d = await find(req.params.id);
        await ctx.db.transaction(async (tx) => {
          await tx.query('UPDATE devices SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1', [d.id]);
          await tx.query(
            'UPDATE device_credentials SET revoked_at = coalesce(revoked_at, now()) WHERE device_id = $1',
            [d.id],
          );
          await markDevicesStale(tx, [d.id]);
          await audit(tx, actorName(req), 'device.revoke', d.id, { host: d.host, service: d.service });
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        return { revoked: d.id };
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/v1/devices/:id',
      {
        onRequest: ctx.requireRole('admin'),
        schema: { params: IdParams, response: { 200: DeletedResponse } },
      },
      async (req) => {
        const d = await find(req.params.id);
        await ctx.db.transaction(async (tx) => {
          await tx.query('DELETE FROM devices WHERE id = $1', [d.id]);
          await audit(tx, actorName(req), 'device.delete', d.id, { host: d.host, service: d.service });
        });
        await ctx.bus.publish({ kind: 'device', id: d.id });
        return { deleted: d.id };
      },
    );
  };
}
