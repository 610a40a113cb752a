/**
 * Retry a deployment's failed devices (once the cause is fixed): their rows go back to scheduled
 * and every replica holding their channel forgets it sent the deploy, so the scheduler sends it
 * again under the same rules (eligibility, pause, rings).
 */
import { RetryParams, RetryResponse } from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { actorName, type Ctx } from '../context.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { audit } from '../store/audit.js';
import { getDeployment, resetFailedRows } from '../store.js';
import { routes } from './route.js';

export function retryPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.post(
      '/v1/deployments/:id/retry',
      'operator',
      { params: RetryParams, response: { 200: RetryResponse } },
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
