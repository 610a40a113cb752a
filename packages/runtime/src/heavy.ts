/**
 * The parts of the runtime a service may never need: the JavaScript parser and instrumenter
 * (a module that is not in the instrumentation cache, the checks of a replacement at apply) and
 * bundle validation (an apply, or patches stored for this service). Loaded on first use through
 * lazy.ts, so that the preload stays small; everything else imports only types from here.
 */
export { applyEdits, KEY_SCHEME, parseBundle, targetLabel, verifyBundle } from '@hotpatch/core';
export { analyzeModule, checkReplacement, instrumentModule, moduleTable } from '@hotpatch/instrument';
