import { createRequire } from 'node:module';

/**
 * heavy.ts, loaded on first use, for code that runs as ES module chunks (Node 20's off-thread
 * hooks, esm-hooks.ts). It is an ES module: require() loads it synchronously where Node can
 * require() an ES module, else import() does. The in-process runtime (dist/bundle/runtime.cjs)
 * uses lazy-bundled.ts instead, where heavy.ts is part of the bundle, initialised on first use.
 */
type Heavy = typeof import('./heavy.js');
const require = createRequire(import.meta.url);
let loaded: Heavy | null = null;

export function heavy(): Heavy {
  loaded ??= require('./heavy.js') as Heavy;
  return loaded;
}

/** Whether heavy.ts has been loaded in this thread (status and benchmarks show it). */
export function heavyLoaded(): boolean {
  return loaded !== null;
}

/** heavy.ts, loaded asynchronously where that is possible. */
export async function heavyAsync(): Promise<Heavy> {
  // Where require(esm) exists, load synchronously: an import() in flight while the compile hook
  // require()s the same shared chunks makes Node 20's loader throw ("reading 'getStatus'").
  if (process.features.require_module) return heavy();
  loaded ??= await import('./heavy.js');
  return loaded;
}

type Agent = typeof import('./agent.js');

/** agent.ts, loaded off the start-up path (on a later turn, so the application's first modules load first). */
export function loadAgent(): Promise<Agent> {
  if (!process.features.require_module) return import('./agent.js');
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(require('./agent.js') as Agent);
      } catch (e) {
        reject(e);
      }
    }),
  );
}
