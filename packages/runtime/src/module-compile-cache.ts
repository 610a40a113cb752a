import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { ensurePrivateDir, hotpatchHome } from './paths.js';

/**
 * Node's module compile cache (22.8+: `module.enableCompileCache`): V8 code cache on disk for the
 * modules a process compiles, kept in HOTPATCH_HOME/compiled. The instrumented text is larger
 * than the module as written, and compiling it was the largest part of what the runtime added to
 * a service's start (BENCHMARKS.md §3); with the cache, a restart of the same release reads the
 * compiled top-level code instead. Node checks each entry against the text it compiles (its
 * length and a checksum), so changed text (a new release, a patch compiled in at load) is
 * compiled again, never run from an old entry. Node writes the entries itself,
 * atomically (seen on 22.23, 24.21 and 26.12: once the entry script has run, for modules loaded
 * later too, so a service stopped by a signal keeps them).
 * Where the user set NODE_COMPILE_CACHE, theirs is kept (Node enabled it first);
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such cache: the runtime keeps its own
 * there (cjs-code-cache.ts).
 */
type CompileCacheApi = { enableCompileCache?: (dir: string) => unknown };
const api = nodeModule as unknown as CompileCacheApi;

/** Turns the cache on; false where this Node has none (the runtime's own cache is used there). */
export function enableModuleCompileCache(): boolean {
  if (typeof api.enableCompileCache !== 'function') return false;
  try {
    api.enableCompileCache(ensurePrivateDir(join(hotpatchHome(), 'compiled')));
  } catch {
    // an unwritable home only costs the compile
  }
  return true;
}
