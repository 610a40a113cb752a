/**
 * ESM hooks for Node versions without module.registerHooks (Node 20, early 22): ES modules are
 * instrumented for the redirect engine as they load, and files a hotpatch adds to a package are
 * served from the service's active patches on disk (written there, verified, before they apply).
 * Runs off the main thread; the main thread learns about each module when its code registers.
 * The parser and bundle validation load with the first module that needs them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bundle, NewFile } from '@hotpatch/core';
import { MODULE_PROLOGUE, type PatchImport } from '@hotpatch/instrument';
import { assertRunnable } from './compat.js';
import { patchImports } from './engines/source.js';
import { sha256 } from './hash.js';
import { packageOf } from './inventory.js';
import { heavyAsync } from './lazy.js';
import { candidates } from './new-files.js';
import { trustFromEnv } from './trust.js';

interface Data {
  service: string;
  ownRoot: string;
  home: string;
  trustedKeys: string;
}

let data: Data | null = null;

export function initialize(d: Data): void {
  data = d;
}

/** The service's active hotpatches for the package of `filename`, read and verified from the store on disk. */
async function activeFor(filename: string): Promise<{ bundles: Bundle[]; rel: string } | null> {
  if (!data) return null;
  const pkg = packageOf(filename);
  if (!pkg) return null;
  const rel = relative(pkg.root, filename).split(sep).join('/');
  const dir = join(data.home, 'active', encodeURIComponent(data.service));
  if (!existsSync(dir)) return null;
  const bundles: Bundle[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.hpatch')) continue;
    try {
      const { parseBundle, verifyBundle, KEY_SCHEME } = await heavyAsync();
      const bundle = parseBundle(readFileSync(join(dir, name)), name);
      verifyBundle(bundle, trustFromEnv({ HOTPATCH_TRUSTED_KEYS: data.trustedKeys }).trust);
      assertRunnable(bundle.payload, KEY_SCHEME);
      const t = bundle.payload.target;
      const version = t.kind === 'npm' ? t.version : t.baseline;
      if (t.name === pkg.name && version === pkg.version) bundles.push(bundle);
    } catch {
      // an unreadable or untrusted store entry adds nothing
    }
  }
  return { bundles, rel };
}

/** A file the service's active hotpatches add. */
async function newFileOnDisk(filename: string): Promise<NewFile | null> {
  const found = await activeFor(filename);
  for (const bundle of found?.bundles ?? []) {
    const file = bundle.payload.newFiles.find((f) => f.path === found!.rel && f.sourceType === 'module');
    if (file && sha256(file.source) === file.sha256) return file;
  }
  return null;
}

/** Imports an active patch of this module adds (see patchImports): loaded statically with it. */
async function importsOnDisk(filename: string, sha: string): Promise<PatchImport[]> {
  const found = await activeFor(filename);
  for (const bundle of found?.bundles ?? []) {
    const file = bundle.payload.files.find((f) => f.path === found!.rel && f.baselineSha256 === sha);
    if (file) return patchImports(file, `${filename}@${bundle.payload.patchId}`);
  }
  return [];
}

type LoadResult = {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
};
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<ResolveResult>;

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  next: NextResolve,
): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (context.parentURL?.startsWith('file:') && !own(context.parentURL)) {
      for (const c of candidates(specifier, dirname(fileURLToPath(context.parentURL))))
        if (await newFileOnDisk(c))
          return { url: pathToFileURL(c).href, format: 'module', shortCircuit: true };
    }
    throw e;
  }
}

/** Our own files: never instrumented, and loaded through these hooks too (heavy.js, by load itself). */
function own(url: string): boolean {
  if (!data || !url.startsWith('file:')) return false;
  const filename = fileURLToPath(url);
  return filename.startsWith(`${data.ownRoot}/`) || filename.includes('/node_modules/@hotpatch/');
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (own(url)) return nextLoad(url, context);
  const added = url.startsWith('file:') ? await newFileOnDisk(fileURLToPath(url)) : null;
  const result: LoadResult = added
    ? { format: 'module', source: added.source, shortCircuit: true }
    : await nextLoad(url, context);
  if (!data || result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;
  const filename = fileURLToPath(url);
  const source =
    typeof result.source === 'string'
      ? result.source
      : Buffer.from(result.source as Uint8Array).toString('utf8');
  // Instrumented already (by another layer of these hooks): twice would declare every guard twice.
  if (source.includes(MODULE_PROLOGUE)) return result;
  const sha = sha256(source);
  try {
    const meta = { id: filename, filename, sha256: sha, sourceType: 'module' };
    const { instrumentModule } = await heavyAsync();
    return {
      ...result,
      source: instrumentModule(source, 'module', meta, undefined, await importsOnDisk(filename, sha)).code,
    };
  } catch {
    return result;
  }
}
