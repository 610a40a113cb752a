import { mkdirSync, readFileSync, statSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Runs a CommonJS file (the runtime's bundle) compiled with a V8 code cache: the preload is
 * compiled in every process of a service, and most of its cost at start was V8 parsing it and
 * compiling the functions that start-up calls. The cache is V8's own (`vm.Script` cachedData,
 * made with `createCachedData()` once start-up has run, so it holds those functions compiled).
 *
 * Which cache is the right one: V8 checks its version, its flags and the source's length, and
 * rejects the cache otherwise (the file then compiles as without one, and the cache is written
 * again). The length is not enough for a rebuilt bundle, so the cache file is named by the
 * bundle's identity on disk (size, inode, modification and change times: a reinstall or rebuild
 * changes the change time, which no one can set), the build's id, the Node version and
 * architecture, and the process's flags (V8 rejects a cache made under other flags). Written whole or not at all (a temporary file renamed), in HOTPATCH_HOME next to
 * the instrumentation cache, which the runtime trusts alike. Any problem with the cache only
 * costs the compile; a problem with the bundle itself is thrown, as a plain require() would.
 */
export interface CodeCacheResult {
  /** The cache was used (not missing, not rejected by V8). */
  used: boolean;
  /** Where the cache is (or would be) kept. */
  cacheFile: string;
}

/** How long after start-up the caches are written (functions compiled by then are in them). */
const WRITE_AFTER_MS = 2000;

/**
 * Runs `file`; the files next to it that it require()s as `./NAME.cjs` (the bundle's chunks, and
 * heavy.cjs and agent.cjs when first used) run the same way, each with a cache of its own, and
 * once each (the bundle's own module table). Anything else is required as usual.
 */
export function runWithCodeCache(file: string, cacheDir: string, buildId: string): CodeCacheResult {
  const modules = new Map<string, { exports: unknown }>();
  const unwritten: Array<{ script: vm.Script; cacheFile: string }> = [];
  const fallback = Module.createRequire(file);
  const bundleRequire = Object.assign(
    (request: string): unknown => {
      if (!/^\.\/[\w.-]+\.cjs$/.test(request)) return fallback(request);
      const sibling = join(dirname(file), request.slice(2));
      const known = modules.get(sibling);
      if (known) return known.exports;
      const module = { exports: {} };
      modules.set(sibling, module); // before it runs: a cycle gets the exports so far, as require() does
      try {
        runCached(sibling, module);
      } catch (e) {
        modules.delete(sibling); // as require() does: the next require() tries again
        throw e;
      }
      return module.exports;
    },
    { resolve: fallback.resolve, cache: fallback.cache, main: fallback.main },
  );
  const runCached = (path: string, module: { exports: unknown }): CodeCacheResult => {
    const { script, used, cacheFile } = compileCached(path, cacheDir, buildId);
    if (!used && isMainThread) {
      if (unwritten.length === 0) writeLater(unwritten);
      unwritten.push({ script, cacheFile });
    }
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(module.exports, module.exports, bundleRequire, module, path, dirname(path));
    return { used, cacheFile };
  };
  const entry = { exports: {} };
  modules.set(file, entry);
  return runCached(file, entry);
}

/** A file compiled with its cache where V8 takes it. */
function compileCached(
  file: string,
  cacheDir: string,
  buildId: string,
): { script: vm.Script; used: boolean; cacheFile: string } {
  const source = readFileSync(file, 'utf8');
  const cacheFile = join(cacheDir, `${cacheName(file, buildId)}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // none yet (or unreadable): compiled from source
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    // the bundle's own import() calls, if any, resolve as a file's would
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.ScriptOptions);
  return { script, used: cachedData !== undefined && !script.cachedDataRejected, cacheFile };
}

/**
 * The cache's name: what identifies this build of the bundle and this Node. Not a hash of the
 * bundle's text (that would cost a read and sha256 of ~1 MB, and node:crypto, at every start).
 */
export function cacheName(file: string, buildId: string): string {
  const s = statSync(file, { bigint: true });
  const identity = [
    buildId,
    process.version,
    process.arch,
    s.size,
    s.ino,
    s.mtimeNs,
    s.ctimeNs,
    // V8 rejects a cache made under other flags: each set of flags keeps its own
    process.execArgv.join(' '),
    process.env.NODE_OPTIONS ?? '',
  ].join('\u0000');
  return `runtime-${process.version}-${fnv1a(identity)}`;
}

/** 64-bit FNV-1a, hex: a short file name for a long identity (not a check of content). */
export function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** Writes the caches once start-up has run (or at exit, if sooner); never throws. */
function writeLater(unwritten: Array<{ script: vm.Script; cacheFile: string }>): void {
  const write = () => {
    for (const { script, cacheFile } of unwritten.splice(0)) writeCache(script, cacheFile);
  };
  setTimeout(write, WRITE_AFTER_MS).unref();
  process.once('exit', write);
}

function writeCache(script: vm.Script, cacheFile: string): void {
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    writeFileAtomic(cacheFile, script.createCachedData());
  } catch {
    // an unwritable home only costs the compile at the next start (no partial file is left)
  }
}
