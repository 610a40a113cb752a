import { baselineMonths, policyCalendar } from '@hotpatch/core';
import {
  ExposureReportResponse,
  PolicyReportsResponse,
  ReportResponse,
  RestartsReportResponse,
} from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import { refreshStatus } from '../fleet/status-columns.js';
import { exposureReport, hotpatchReport, restartsReport } from '../reports.js';
import {
  allDeploymentRows,
  allDeployments,
  allInstanceStarts,
  listBundles,
  listDevicesLight,
  listPolicies,
} from '../store.js';
import { routes } from './route.js';

export function reportsPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    const load = async () => {
      await refreshStatus(ctx.db);
      const [devices, policies, rows, deployments, bundles] = await Promise.all([
        // The reports read placement and device eligibility, not inventories.
        listDevicesLight(ctx.db),
        listPolicies(ctx.db),
        allDeploymentRows(ctx.db),
        allDeployments(ctx.db),
        listBundles(ctx.db),
      ]);
      return { devices, policies, rows, deployments, bundles };
    };
    const restarts = async (
      devices: Awaited<ReturnType<typeof load>>['devices'],
      rows: Awaited<ReturnType<typeof load>>['rows'],
    ) => {
      const instances = await allInstanceStarts(ctx.db);
      const applied = new Map<string, number>();
      for (const r of rows) if (r.appliedAt) applied.set(r.deviceId, (applied.get(r.deviceId) ?? 0) + 1);
      return restartsReport(devices, instances, applied, baselineMonths(ctx.calendar).length);
    };
    r.get('/v1/reports/hotpatch', 'viewer', { response: { 200: PolicyReportsResponse } }, async () => {
      const d = await load();
      return { policies: hotpatchReport(d.devices, d.policies, d.rows, d.deployments) };
    });
    r.get('/v1/reports/exposure', 'viewer', { response: { 200: ExposureReportResponse } }, async () => {
      const d = await load();
      return { advisories: exposureReport(d.bundles, d.rows, d.deployments) };
    });
    r.get('/v1/reports/restarts', 'viewer', { response: { 200: RestartsReportResponse } }, async () => {
      const d = await load();
      return { devices: await restarts(d.devices, d.rows) };
    });
    r.get('/v1/report', 'viewer', { response: { 200: ReportResponse } }, async () => {
      const d = await load();
      return {
        generatedAt: new Date().toISOString(),
        policies: hotpatchReport(d.devices, d.policies, d.rows, d.deployments),
        advisories: exposureReport(d.bundles, d.rows, d.deployments),
        restarts: await restarts(d.devices, d.rows),
        calendar: policyCalendar([], new Date(), 6, ctx.calendar),
      };
    });
  };
}
