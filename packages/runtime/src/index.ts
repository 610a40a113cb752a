import { fileURLToPath } from 'node:url';

export { answerTimeoutMs, applyTo, listProcesses, request, revertIn, status } from './client.js';
export type { ControlRequest, ControlResponse } from './control.js';
export { ensurePrivateDir, hotpatchHome, launcherFile, serviceName, socketDir, socketPath } from './paths.js';
export type { ApplyResult, PatchState, RuntimeStatus } from './runtime.js';

/** Absolute path of the preload for `node --import` (it loads preloadPath). */
export const registerPath = fileURLToPath(new URL('./bundle/register.js', import.meta.url));
/**
 * Absolute path of the preload for `node --require` (the runtime's bundle, run with a V8 code
 * cache): a CommonJS service's start then does not go through Node's ES module loader.
 */
export const preloadPath = fileURLToPath(new URL('./bundle/register.cjs', import.meta.url));
