/**
 * The checker thread's entry (off-thread.ts). Where Node has a compile cache (22.1+), the parser
 * and bundle validation it loads are compiled once and kept in HOTPATCH_HOME, so that the first
 * apply of a later process does not compile them again; then the checks themselves load.
 */
import { enableModuleCompileCache } from './module-compile-cache.js';

enableModuleCompileCache();
await import('./check-worker.js');
