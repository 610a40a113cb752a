/**
 * GET /metrics: Prometheus text format (prom-client), for the monitoring operators already run.
 * Fleet numbers are read from storage at scrape time (any replica answers the same); the check-in
 * counter and the process metrics are this replica's. Requires a viewer token (bearer), like the
 * reports: scrape configs carry it with `authorization: {credentials_file: ...}`.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Ctx } from '../context.js';
import { type FleetNumbers, fleetNumbers } from '../metrics/fleet.js';
import { allDeploymentRows, allDeployments, listBundles, listDevices, listPolicies } from '../store.js';
import { routes } from './route.js';

/** Exposure windows in hours: a day, a week, a month cover what operators ask about. */
const EXPOSURE_BUCKETS = [1, 4, 12, 24, 48, 72, 168, 336, 720];

function setAll(g: Gauge<string>, label: string, values: Record<string, number>): void {
  g.reset();
  for (const [k, v] of Object.entries(values)) g.set({ [label]: k }, v);
}

/** A registry of its own (not prom-client's global one), so that two servers in one process do not mix. */
export function metricsRegistry(ctx: Ctx): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hotpatch_server_' });
  // One read per scrape, shared by every metric's collect().
  let pending: Promise<FleetNumbers> | null = null;
  const numbers = () => {
    pending ??= load(ctx).finally(() => {
      setImmediate(() => {
        pending = null;
      });
    });
    return pending;
  };
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge<string>, n: FleetNumbers) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        fill(this, await numbers());
      },
    });
  gauge('hotpatch_devices', 'Enrolled devices by status.', ['status'], (g, n) =>
    setAll(g, 'status', n.devicesByStatus),
  );
  gauge(
    'hotpatch_devices_report',
    'Devices per policy and hotpatch report column.',
    ['policy', 'column'],
    (g, n) => {
      g.reset();
      for (const c of n.devicesByColumn) g.set({ policy: c.policy, column: c.column }, c.value);
    },
  );
  gauge('hotpatch_device_ineligible', 'Devices per ineligibility reason code.', ['reason'], (g, n) =>
    setAll(g, 'reason', n.eligibilityReasons),
  );
  gauge('hotpatch_deployments', 'Deployments by state.', ['state'], (g, n) =>
    setAll(g, 'state', n.deploymentsByState),
  );
  gauge('hotpatch_deployment_devices', 'Devices of active deployments by state.', ['state'], (g, n) =>
    setAll(g, 'state', n.deploymentDevicesByState),
  );
  gauge('hotpatch_devices_exposed', 'Devices still exposed per advisory.', ['advisory'], (g, n) => {
    g.reset();
    for (const a of n.devicesStillExposed) g.set({ advisory: a.advisory }, a.value);
  });
  gauge(
    'hotpatch_restarts_avoided',
    'Hotpatches applied and verified on devices without a restart.',
    [],
    (g, n) => g.set(n.restartsAvoided),
  );
  new Histogram({
    name: 'hotpatch_exposure_window_hours',
    // One observation per advisory and device, fleet-wide (per-advisory series would multiply
    // the buckets by every advisory ever published; hotpatch_devices_exposed is per advisory).
    help: 'Hours from advisory publication (else hotpatch publication) to the verified apply, per advisory and device.',
    buckets: EXPOSURE_BUCKETS,
    registers: [registry],
    async collect() {
      const n = await numbers();
      this.reset();
      for (const a of n.exposureWindows) for (const h of a.hours) this.observe(h);
    },
  });
  let seen = 0;
  new Counter({
    name: 'hotpatch_checkins_total',
    help: 'Device check-ins (hello and facts messages) received by this replica.',
    registers: [registry],
    collect() {
      const now = ctx.hub.checkins;
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
  return registry;
}

async function load(ctx: Ctx): Promise<FleetNumbers> {
  const [devices, policies, rows, deployments, bundles] = await Promise.all([
    listDevices(ctx.db),
    listPolicies(ctx.db),
    allDeploymentRows(ctx.db),
    allDeployments(ctx.db),
    listBundles(ctx.db),
  ]);
  return fleetNumbers({ devices, policies, rows, deployments, bundles });
}

export function metricsPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const registry = metricsRegistry(ctx);
    routes(app, ctx).get(
      '/metrics',
      'viewer',
      { response: { 200: Type.String({ description: 'Prometheus text format' }) } },
      async (_req, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      },
    );
  };
}
