/**
 * lazy.ts as the in-process runtime has it (bundle.mjs puts this file in lazy.ts's place): the
 * runtime is CommonJS there (dist/bundle/runtime.cjs), and heavy.cjs and agent.cjs are bundles
 * sharing its chunks, so require() loads them synchronously, with the runtime's own instance of
 * every module they share (one HotpatchError class, one core), on any Node 20+.
 */
type Heavy = typeof import('./heavy.js');
type Agent = typeof import('./agent.js');
// The bundle's own require (the file names are not literals: esbuild leaves these calls alone).
const load = require;
const HEAVY = './heavy.cjs';
const AGENT = './agent.cjs';
let loaded: Heavy | null = null;

export function heavy(): Heavy {
  loaded ??= load(HEAVY) as Heavy;
  return loaded;
}

/** Whether heavy.ts has been loaded in this thread (status and benchmarks show it). */
export function heavyLoaded(): boolean {
  return loaded !== null;
}

export async function heavyAsync(): Promise<Heavy> {
  return heavy();
}

/** agent.ts, on a later turn, so that the application's first modules load first. */
export function loadAgent(): Promise<Agent> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(load(AGENT) as Agent);
      } catch (e) {
        reject(e);
      }
    }),
  );
}
