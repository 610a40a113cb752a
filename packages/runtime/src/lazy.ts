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
  loaded ??= await import('./heavy.js');
  return loaded;
}

/** For Node versions that cannot require() an ES module: load it now, asynchronously. */
export async function preloadHeavy(): Promise<void> {
  if (!process.features.require_module) await heavyAsync();
}
