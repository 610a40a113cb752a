import Module from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SourceType } from '@hotpatch/instrument';
import { candidates } from './new-files.js';
import type { HotpatchRuntime } from './runtime.js';

/**
 * Node 22.15+/23.5+: synchronous, in-thread load hooks (`module.registerHooks`), through which ES
 * modules are instrumented by the same runtime, and ES modules a hotpatch adds are served.
 */
type LoadResult = {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
};
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type ResolveContext = { parentURL?: string };
type SyncHooks = {
  resolve?: (
    specifier: string,
    context: ResolveContext,
    next: (specifier: string, context?: ResolveContext) => ResolveResult,
  ) => ResolveResult;
  load?: (url: string, context: unknown, next: (url: string, context?: unknown) => LoadResult) => LoadResult;
};
export type RegisterHooks = (hooks: SyncHooks) => unknown;

/** `module.registerHooks` where this Node has it. */
export function inThreadHooks(): RegisterHooks | null {
  const f = (Module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  return typeof f === 'function' ? f : null;
}

/** The source to compile for a module; its own on a failure (the app runs, a warning says so). */
export function instrumentOrOwn(
  runtime: HotpatchRuntime,
  filename: string,
  source: string,
  sourceType: SourceType,
): string {
  try {
    return runtime.onCompile(filename, source, sourceType);
  } catch (e) {
    process.emitWarning(`hotpatch: ${filename} loads unpatched: ${(e as Error).message}`);
    return source;
  }
}

export function registerInThreadHooks(registerHooks: RegisterHooks, runtime: HotpatchRuntime): void {
  /** An ES module a hotpatch added (not on disk), for the import() of patched code. */
  const newModuleUrl = (specifier: string, parentURL: string | undefined): string | null => {
    if (!parentURL?.startsWith('file:')) return null;
    for (const c of candidates(specifier, dirname(fileURLToPath(parentURL))))
      if (runtime.newFile(c)?.sourceType === 'module') return pathToFileURL(c).href;
    return null;
  };
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (e) {
        const url = newModuleUrl(specifier, context.parentURL);
        if (url) return { url, format: 'module', shortCircuit: true };
        throw e;
      }
    },
    load(url, context, next) {
      const added = url.startsWith('file:') ? runtime.newFile(fileURLToPath(url)) : null;
      const result: LoadResult = added
        ? { format: 'module', source: added.source, shortCircuit: true }
        : next(url, context);
      if (result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;
      const source =
        typeof result.source === 'string'
          ? result.source
          : Buffer.from(result.source as Uint8Array).toString('utf8');
      return { ...result, source: instrumentOrOwn(runtime, fileURLToPath(url), source, 'module') };
    },
  });
}
