/**
 * `node --import @hotpatch/runtime/register`: the preload for those who give it as an ES module
 * (bundled as dist/bundle/register.js). It loads the CommonJS preload, telling the runtime that
 * this --import is its own (another one may bring ES modules: register.ts starts the ESM hooks).
 */
import { createRequire } from 'node:module';

(globalThis as Record<symbol, unknown>)[Symbol.for('hotpatch.preloadedByImport')] = true;
createRequire(import.meta.url)('./register.cjs');
