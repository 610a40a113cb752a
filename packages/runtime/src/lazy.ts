import { createRequire } from 'node:module';

/**
 * heavy.ts, loaded on first use. It is an ES module: require() loads it synchronously (the load
 * hooks and the compile hook need it there and then) and shares the module instances the preload
 * already has (one HotpatchError class, one core). Node versions without require(esm) load it at
 * start instead (preloadHeavy).
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

/** heavy.ts, loaded asynchronously where that is possible (Node 20's off-thread hooks, an apply). */
export async function heavyAsync(): Promise<Heavy> {
  // Where require(esm) exists, load synchronously: an import() in flight while the compile hook
  // require()s the same shared chunks makes Node 20's loader throw ("reading 'getStatus'").
  if (process.features.require_module) return heavy();
  loaded ??= await import('./heavy.js');
  return loaded;
}

type Agent = typeof import('./agent.js');

/**
 * agent.ts, loaded off the start-up path. Same rule as heavyAsync: require() where require(esm)
 * exists (on a later turn, so the application's first modules load first), import() elsewhere.
 */
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

/** For Node versions that cannot require() an ES module: load it now, asynchronously. */
export async function preloadHeavy(): Promise<void> {
  if (!process.features.require_module) await heavyAsync();
}
