/**
 * The checker thread's entry (off-thread.ts). Where Node has a compile cache (22.1+), the parser
 * and bundle validation it loads are compiled once and kept in HOTPATCH_HOME, so that the first
 * apply of a later process does not compile them again; then the checks themselves load.
 */
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { ensurePrivateDir, hotpatchHome } from './paths.js';

const enable = (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
try {
  if (enable) enable(ensurePrivateDir(join(hotpatchHome(), 'compiled')));
} catch {
  // an unwritable home only costs the compile
}
await import('./check-worker.js');
