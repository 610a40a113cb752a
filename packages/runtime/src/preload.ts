/**
 * The preload: `node --require @hotpatch/runtime/preload app.js` (what `hotpatch run` sets up),
 * bundled as dist/bundle/register.cjs. It runs the runtime (dist/bundle/runtime.cjs) with a V8
 * code cache kept in HOTPATCH_HOME (code-cache.ts). A CommonJS preload keeps Node's ES module
 * loader out of a CommonJS service's start (on Node 20 an --import preload runs the main entry
 * through it too).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './code-cache.js';
import { hotpatchHome } from './paths.js';

/** The runtime bundle's build id, written in by bundle.mjs (a hash of the bundle's text). */
declare const HOTPATCH_RUNTIME_BUILD: string;

const here = dirname(fileURLToPath(import.meta.url));
const build = typeof HOTPATCH_RUNTIME_BUILD === 'string' ? HOTPATCH_RUNTIME_BUILD : 'unbundled';
runWithCodeCache(join(here, 'runtime.cjs'), join(hotpatchHome(), 'compiled', 'preload'), build);
