import { MeResponse } from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import type { BusEvent } from '../fleet/bus.js';

/**
 * The dashboard's live channel: Server-Sent Events carrying the server's bus events (from every
 * replica: the bus rides on the database's NOTIFY), authenticated with the API token like every
 * other route (Authorization: Bearer; the dashboard reads the stream with fetch). Events name
 * what changed; the client re-reads it through the API.
 */
export function eventsPlugin(ctx: Ctx, heartbeatMs = 15_000): FastifyPluginAsync {
  return async (app) => {
    // Who the token is (the dashboard hides controls the role cannot use; the API refuses them anyway).
    app.get(
      '/v1/me',
      { onRequest: ctx.requireRole('viewer'), schema: { response: { 200: MeResponse } } },
      async (req) => ({ actor: req.actor }),
    );

    app.get('/v1/events', { onRequest: ctx.requireRole('viewer') }, async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let seq = 0;
      const write = (event: string, data: unknown) => {
        if (!res.writableEnded) res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const on = (e: BusEvent) => write(e.kind, e);
      const beat = setInterval(() => {
        if (!res.writableEnded) res.write(': keep-alive\n\n');
      }, heartbeatMs);
      beat.unref();
      const done = () => {
        clearInterval(beat);
        ctx.bus.off('event', on);
      };
      ctx.bus.on('event', on);
      req.raw.once('close', done);
      res.once('close', done);
      write('hello', { actor: req.actor, retryMs: 2000 });
    });
  };
}
