import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../errors.js';

/** Where the built dashboard (packages/web, `vite build`) lives: env override, the monorepo, or the installed package. */
export function dashboardDir(): string | null {
  const candidates = [
    process.env.HOTPATCH_DASHBOARD_DIR,
    fileURLToPath(new URL('../../../web/dist/app/', import.meta.url)),
  ];
  try {
    candidates.push(
      join(dirname(createRequire(import.meta.url).resolve('@hotpatch/web/package.json')), 'dist/app'),
    );
  } catch {
    // not installed
  }
  for (const c of candidates) if (c && existsSync(join(c, 'index.html'))) return c;
  return null;
}

const API = /^\/(v1|healthz)(\/|$|\?)/;

/** Serves the dashboard at / (static files, SPA fallback to index.html); API paths keep their JSON 404s. */
export function dashboardPlugin(dir: string | null = dashboardDir()): FastifyPluginAsync {
  return async (app) => {
    if (!dir) {
      app.get('/', async (_req, reply) =>
        reply
          .type('text/html; charset=utf-8')
          .send(
            '<!doctype html><title>Hotpatch</title><p>The dashboard is not built: run <code>npm run build</code> (packages/web), or set HOTPATCH_DASHBOARD_DIR.</p>',
          ),
      );
      return;
    }
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: false,
      setHeaders(reply, path) {
        reply.header(
          'cache-control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
    app.get('/', (_req, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html'));
    app.get('/*', (req, reply) => {
      if (API.test(req.url)) throw new NotFoundError(`no route ${req.method} ${req.url}`);
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  };
}
