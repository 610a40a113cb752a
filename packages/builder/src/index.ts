export { BUILDER_ID, type BuildOptions, type BuildResult, buildPatch } from './build.js';
export { diffFile, type DiffInput, type FileDiff } from './diff-file.js';
export { cacheRoot, type ResolvedSpec, resolveSpec } from './spec.js';
