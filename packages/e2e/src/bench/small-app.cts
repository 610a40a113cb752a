/**
 * A small real service for the start-up benchmark: loads Express 4 and Fastify 4 (from
 * BENCH_APP_DIR), has each listen on a port, and exits once both are listening.
 */
import nodeModule = require('node:module');
import nodePath = require('node:path');

const req = nodeModule.createRequire(nodePath.join(process.env.BENCH_APP_DIR!, 'noop.js'));
type Fastify = () => {
  get(path: string, handler: () => Promise<unknown>): void;
  listen(opts: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
};
const express = req('express') as typeof import('express');
const app = express();
app.get('/', (_req, res) => {
  res.json({ ok: true });
});
const f = (req('fastify') as Fastify)();
f.get('/', async () => ({ ok: true }));
const server = app.listen(0, '127.0.0.1', () => {
  void f.listen({ port: 0, host: '127.0.0.1' }).then(() => process.exit(0));
});
server.unref();
