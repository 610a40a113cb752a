import { EventStream, type LiveEvent, MeResponse } from '@hotpatch/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Ctx } from '../context.js';
import type { BusEvent } from '../fleet/bus.js';
import { routes } from './route.js';

/**
 * The dashboard's live channel: Server-Sent Events carrying the server's bus events (from every
 * replica: the bus rides on the database's NOTIFY), authenticated with the API token like every
 * other route (Authorization: Bearer; the dashboard reads the stream with fetch). Events name
 * what changed; the client re-reads it through the API.
 */
export function eventsPlugin(ctx: Ctx, heartbeatMs = 15_000): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    // Who the token is (the dashboard hides controls the role cannot use; the API refuses them anyway).
    r.get('/v1/me', 'viewer', { response: { 200: MeResponse } }, async (req) => ({ actor: req.actor }));

    r.stream('/v1/events', 'viewer', { response: { 200: EventStream } }, (req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let seq = 0;
      const write = (e: LiveEvent) => {
        if (!res.writableEnded) res.write(`id: ${++seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const on = (e: BusEvent) => write(e);
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
      write({ kind: 'hello', actor: req.actor!, retryMs: 2000 });
    });
  };
}
