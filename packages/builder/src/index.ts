export { BUILDER_ID, type BuildOptions, type BuildResult, buildPatch } from './build.js';
export { type DiffInput, diffFile, type FileDiff } from './diff/index.js';
export { cacheRoot, type ResolvedSpec, resolveSpec } from './spec.js';
