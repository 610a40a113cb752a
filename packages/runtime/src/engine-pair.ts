import type { Engine, FileWork, ModuleRecord } from './engines/types.js';

/** The two engines: CommonJS modules use `engine`, ES modules (instrumented at load) `moduleEngine`. */
export interface Engines {
  readonly engine: Engine;
  readonly moduleEngine: Engine;
}

/** ES modules always use the module engine (instrumented at load); CommonJS the main one. */
export function engineOf(engines: Engines, record: ModuleRecord): Engine {
  return record.sourceType === 'module' ? engines.moduleEngine : engines.engine;
}

/** LiveEdit first: it is the engine whose commit can still be refused. */
export function enginesInOrder(engines: Engines): Engine[] {
  return [...new Set([engines.engine, engines.moduleEngine])];
}

/** Why a record does not run `w` (or its baseline when w is null), or null when it does. */
export function verifyQuietly(engines: Engines, record: ModuleRecord, w: FileWork | null): string | null {
  try {
    return engineOf(engines, record).verify(record, w);
  } catch (e) {
    return `${record.filename}: ${(e as Error).message}`;
  }
}
