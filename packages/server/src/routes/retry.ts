/**
 * Retry a deployment's failed devices (once the cause is fixed): their rows go back to scheduled
 * and every replica holding their channel forgets it sent the deploy, so the scheduler sends it
 * again under the same rules (eligibility, pause, rings).
 */
import { RetryResponse } from '@hotpatch/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { audit } from '../audit.js';
import { actorName, type Ctx } from '../context.js';
import type { Sql } from '../db/types.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { markDevicesStale } from '../fleet/status-columns.js';
import { getDeployment } from '../store.js';
import { routes } from './route.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

/** Failed rows back to scheduled; the instance is forgotten so the scheduler does not keep the failure. */
export async function resetFailedRows(q: Sql, deploymentId: string, reason: string): Promise<string[]> {
  const rows = await q.query<{ device_id: string }>(
    `UPDATE deployment_devices SET state = 'scheduled', reason = $2, action = NULL, instance_id = NULL, updated_at = now()
      WHERE deployment_id = $1 AND state = 'failed' RETURNING device_id`,
    [deploymentId, reason],
  );
  await markDevicesStale(
    q,
    rows.map((r) => r.device_id),
  );
  return rows.map((r) => r.device_id).sort();
}

export function retryPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.post(
      '/v1/deployments/:id/retry',
      'operator',
      { params: Params, response: { 200: RetryResponse } },
      async (req) => {
        const d = await getDeployment(ctx.db, req.params.id);
        if (!d) throw new NotFoundError(`deployment ${req.params.id}`, 'id');
        if (d.state !== 'active')
          throw new ConflictError(`deployment ${d.id} is ${d.state}: nothing to retry`, 'id');
        const retried = await ctx.db.transaction(async (tx) => {
          const ids = await resetFailedRows(tx, d.id, `retry requested by ${actorName(req)}`);
          if (ids.length) await audit(tx, actorName(req), 'deployment.retry', d.id, { devices: ids });
          return ids;
        });
        if (retried.length === 0) throw new ConflictError(`deployment ${d.id} has no failed device`, 'id');
        await ctx.bus.publish({ kind: 'retry', id: d.id, devices: retried });
        await ctx.bus.publish({ kind: 'state', deploymentId: d.id });
        return { deploymentId: d.id, retried };
      },
    );
  };
}
