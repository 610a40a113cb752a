import Module from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { BundlePayload, NewFile } from '@hotpatch/core';

/**
 * Files a hotpatch adds to a package exist only in the bundle: they are loaded as modules of the
 * package (resolved next to the files that require them, compiled like any other module, so
 * instrumented too) the first time patched code requires or imports them. Nothing on disk changes.
 */
export type NewFileLookup = (filename: string) => NewFile | null;

const EXTENSIONS = ['', '.js', '.json', '.cjs', '.mjs', '/index.js', '/index.json'];

/**
 * Whether a patch may load modules through the ES module loader: it adds files, or its code (a
 * replacement, a migration) may call import(). A false "yes" only costs the load hooks.
 */
export function patchMayImport(payload: Pick<BundlePayload, 'files' | 'newFiles'>): boolean {
  return payload.newFiles.length > 0 || payload.files.some(fileMayImport);
}

/** Whether a patch's code for one file (a replacement, a migration) may call import(). */
export function fileMayImport(file: BundlePayload['files'][number]): boolean {
  return /\bimport\s*\(/.test(JSON.stringify(file));
}

/** Absolute candidates a relative specifier may name, in Node's order. */
export function candidates(specifier: string, fromDir: string): string[] {
  if (!specifier.startsWith('./') && !specifier.startsWith('../') && !isAbsolute(specifier)) return [];
  const base = resolve(fromDir, specifier);
  return EXTENSIONS.map((ext) => `${base}${ext}`);
}

type Resolve = (request: string, parent: { filename?: string | null } | null, ...rest: unknown[]) => string;
type Loader = (
  module: { _compile(code: string, filename: string): unknown; exports: unknown },
  filename: string,
) => void;

/** CommonJS: require() of a file a hotpatch added. */
export function installRequireHooks(lookup: NewFileLookup): void {
  const M = Module as unknown as { _resolveFilename: Resolve; _extensions: Record<string, Loader> };
  const resolveFilename = M._resolveFilename;
  M._resolveFilename = function hotpatchResolve(request, parent, ...rest) {
    try {
      return resolveFilename.call(this, request, parent, ...rest);
    } catch (e) {
      const from = parent?.filename ? dirname(parent.filename) : process.cwd();
      for (const c of candidates(request, from)) if (lookup(c)) return c;
      throw e;
    }
  };
  for (const ext of ['.js', '.cjs', '.json']) {
    const load = M._extensions[ext];
    if (!load) continue;
    M._extensions[ext] = function hotpatchLoad(module, filename) {
      const file = lookup(filename);
      if (!file) return load.call(this, module, filename);
      if (ext === '.json') module.exports = JSON.parse(file.source);
      else module._compile(file.source, filename);
    };
  }
}
