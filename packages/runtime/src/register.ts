/**
 * The runtime's entry point, bundled as dist/bundle/runtime.cjs and run by the preload
 * (preload.ts, with a V8 code cache): `node --require @hotpatch/runtime/preload app.js`, what
 * `hotpatch run` sets up, or `--import @hotpatch/runtime/register`. Installs the load hooks,
 * picks the engine, starts the local control socket and re-applies the service's active patches
 * as their modules load.
 *
 * It must never take the service down: a problem found at start (unreadable trusted key,
 * unwritable HOTPATCH_HOME, bad HOTPATCH_* variable, an agent that throws) is written as one
 * warning line, shown by `hotpatch status`, and the app runs.
 */
import Module from 'node:module';
import { dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { GLOBAL, READY, SCOPE_REGISTER } from '@hotpatch/instrument';
import { agentOptionsFromEnv } from './agent-env.js';
import { cellStore } from './cells.js';
import {
  cacheDirectory,
  compileModule,
  compilesHere,
  compileThrough,
  takePending,
} from './cjs-code-cache.js';
import { startControlServer } from './control.js';
import { DYNAMIC_IMPORT_MARK } from './dynamic-import.js';
import { LiveEditEngine } from './engines/liveedit.js';
import { RedirectEngine } from './engines/redirect.js';
import type { Engine } from './engines/types.js';
import { entryMayBeModule } from './entry.js';
import { instrumentOrOwn, inThreadHooks, registerInThreadHooks } from './in-thread-hooks.js';
import { openPack } from './instrument-cache.js';
import { heavy, loadAgent } from './lazy.js';
import { enableModuleCompileCache } from './module-compile-cache.js';
import { installRequireHooks, patchMayImport } from './new-files.js';
import { CHECKER_MARK } from './off-thread.js';
import { hotpatchHome, legacyServiceName, serviceName } from './paths.js';
import { HotpatchRuntime } from './runtime.js';
import { adoptLegacyStore, fsReason } from './store.js';
import { Threads } from './threads.js';
import { trustFromEnv } from './trust.js';

/**
 * The redirect engine by default, on every Node version: applying is a slot swap (no event-loop
 * stall), reverting too, and one calling convention means the same fixes go live everywhere.
 * HOTPATCH_ENGINE=liveedit picks V8 LiveEdit for CommonJS where V8 still has it (Node <= 25): no
 * guards in the code, but a stall of tens of milliseconds per apply and fewer fixes it can take.
 * `why` is what `hotpatch status` shows next to the engine.
 */
export function chooseEngine(problems: string[] = []): { engine: Engine; why: string } {
  const major = Number(process.versions.node.split('.')[0]);
  const forced = process.env.HOTPATCH_ENGINE;
  // Measured (BENCHMARKS.md §3, 1,131 modules): LiveEdit stalls the loop ~0.1 s per apply; the
  // redirect engine checks off the loop and swaps in one step (under 1 ms of the loop's CPU).
  const byDefault =
    'the default: an apply is checked off the event loop and swapped in one step (LiveEdit stalls the loop ~0.1 s per apply)';
  if (forced && forced !== 'redirect' && forced !== 'liveedit') {
    problems.push(`HOTPATCH_ENGINE=${forced} is not liveedit or redirect; using the redirect engine`);
  }
  if (forced === 'liveedit') {
    if (major >= 26) {
      problems.push(`HOTPATCH_ENGINE=liveedit: Node ${major} has no LiveEdit; using the redirect engine`);
      return {
        engine: new RedirectEngine(),
        why: `HOTPATCH_ENGINE=liveedit, but Node ${major} has no LiveEdit`,
      };
    }
    try {
      return {
        engine: new LiveEditEngine(),
        why: 'HOTPATCH_ENGINE=liveedit (no guards in the code; each apply stalls the event loop, ~0.1 s with 1,131 modules loaded)',
      };
    } catch (e) {
      problems.push(`LiveEdit is not available (${(e as Error).message}); using the redirect engine`);
      return { engine: new RedirectEngine(), why: 'HOTPATCH_ENGINE=liveedit, but LiveEdit is not available' };
    }
  }
  return {
    engine: new RedirectEngine(),
    why: forced === 'redirect' ? 'HOTPATCH_ENGINE=redirect' : byDefault,
  };
}

/** Set in the environment Node 20's module hooks thread is created with. */
const HOOKS_THREAD_MARK = 'HOTPATCH_INTERNAL_HOOKS_THREAD';

// Our own code (and its dependencies, loaded before the hooks) is never instrumented.
const ownRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const exclude = (filename: string) =>
  filename.startsWith(`${ownRoot}/`) || filename.includes('/node_modules/@hotpatch/');

function warn(problems: string[]): void {
  if (!isMainThread || problems.length === 0) return;
  process.stderr.write(
    `hotpatch: warning: ${problems.join('; ')} (the app runs; see hotpatch status --pid ${process.pid})\n`,
  );
}

function install(problems: string[]): HotpatchRuntime | null {
  // The runtime's own checker thread (off-thread.ts) is not a thread of the service.
  if (!isMainThread && (workerData as Record<string, unknown> | null)?.[CHECKER_MARK] === true) return null;
  // Node 20's module hooks thread (see startEsmHooks): not a thread of the service either.
  if (!isMainThread && process.env[HOOKS_THREAD_MARK] === '1') return null;
  if (Object.getOwnPropertyDescriptor(globalThis, GLOBAL)) {
    problems.push('the runtime is preloaded twice; the second copy does nothing');
    return null;
  }
  const { engine, why } = chooseEngine(problems);
  const { trust, problems: keyProblems } = trustFromEnv();
  problems.push(...keyProblems);
  const service = serviceName();
  try {
    adoptLegacyStore(service, legacyServiceName());
  } catch (e) {
    problems.push(`stored patches of ${legacyServiceName()} not carried over: ${fsReason(e)}`);
  }
  const runtime = new HotpatchRuntime({
    engine,
    moduleEngine: engine instanceof RedirectEngine ? engine : new RedirectEngine(),
    engineReason: why,
    trust,
    service,
    exclude,
    problems,
  });

  Object.defineProperty(globalThis, GLOBAL, {
    value: Object.freeze({
      ...cellStore(),
      module: (gate: (c: string) => unknown, meta: unknown, functions: number) =>
        runtime.registerModule(gate, meta, functions),
      [SCOPE_REGISTER]: (holder: unknown[], index: number, accessor: unknown) =>
        runtime.registerScope(holder, index, accessor),
      [READY]: (holder: unknown[]) => runtime.moduleReady(holder),
      compiled: takePending,
      runtime,
    }),
    enumerable: false,
    configurable: false,
    writable: false,
  });
  // The instrumented text is compiled from Node's code cache where it has one (22.8+), else from
  // the runtime's own (CommonJS).
  const codeCache =
    engine instanceof RedirectEngine && !enableModuleCompileCache() ? cacheDirectory(hotpatchHome()) : null;
  // One pack of instrumented modules per service and main script (workers load a part of it).
  if (isMainThread && engine instanceof RedirectEngine) openPack(`${service}\u0000${process.argv[1] ?? ''}`);
  installHooks(runtime, codeCache);

  const threads = new Threads(runtime);
  if (!isMainThread) return runtime;
  try {
    startControlServer(runtime, threads);
  } catch (e) {
    runtime.problems.push(
      `no control socket (hotpatch apply/status cannot reach this process): ${fsReason(e)}`,
    );
  }
  // Fleet: HOTPATCH_SERVER (+ HOTPATCH_ENROLL_TOKEN, HOTPATCH_LABELS=k=v,..., HOTPATCH_HOST) connects to
  // the control plane. The agent (and its WebSocket client, node:http(s)) loads only then.
  try {
    // A malformed setting is one warning and no agent: the application always starts.
    const agentOptions = agentOptionsFromEnv(process.env, (line) =>
      runtime.problems.push(`fleet agent: ${line}`),
    );
    const failed = (e: unknown) => runtime.problems.push(`fleet agent not started: ${(e as Error).message}`);
    if (agentOptions)
      loadAgent().then(({ startAgent }) => {
        try {
          // An 'error' event nobody listens to would be thrown into the app: record it instead.
          const agent = startAgent(runtime, agentOptions) as unknown as NodeJS.EventEmitter;
          agent.on('error', (e: Error) => runtime.problems.push(`fleet agent: ${e?.message ?? String(e)}`));
        } catch (e) {
          failed(e);
        }
      }, failed);
  } catch (e) {
    runtime.problems.push(`fleet agent not started: ${(e as Error).message}`);
  }
  return runtime;
}

function installHooks(runtime: HotpatchRuntime, codeCache: string | null): void {
  type Compile = (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;
  const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
  const compile = proto._compile;
  proto._compile = function hotpatchCompile(
    this: unknown,
    content: string,
    filename: string,
    ...rest: unknown[]
  ) {
    // The runtime's own files (heavy.cjs and agent.cjs, required on first use) are neither
    // instrumented nor a reason to start the ESM hooks (the agent's text has import( in it).
    if (exclude(filename)) return compile.call(this, content, filename, ...rest);
    // ES modules reaching here (require(esm), the main entry on newer Node) are handled by the ESM
    // load hook; transforming them here too would instrument them twice. Where the in-thread hooks
    // were not started yet, this one was loaded without them: instrument it here, start them for
    // its imports.
    if (rest[0] === 'module' || extname(filename) === '.mjs') {
      if (!esmHere) return compile.call(this, content, filename, ...rest);
      startEsmHooks?.();
      return compile.call(this, instrumentOrOwn(runtime, filename, content, 'module'), filename, ...rest);
    }
    const code = instrumentOrOwn(runtime, filename, content, 'commonjs');
    // A module that may call import() runs once the ESM hooks are there (code that was not
    // instrumented is judged by its text).
    const mayImport = code === content ? content.includes('import(') : code.endsWith(DYNAMIC_IMPORT_MARK);
    if (startEsmHooks && mayImport) startEsmHooks();
    // Not while an active patch may call import(): a module compiled here cannot (cjs-code-cache.ts).
    const wrapper =
      codeCache && code !== content && !runtime.patchesMayImport()
        ? cachedWrapper(runtime, code, filename, mayImport, codeCache)
        : null;
    if (wrapper)
      return compileThrough((stub) => compile.call(this, stub, filename, ...rest), GLOBAL, wrapper);
    return compile.call(this, code, filename, ...rest);
  };

  // Files a hotpatch adds to a package: require() finds them in the bundle.
  installRequireHooks((filename) => runtime.newFile(filename));

  const registerHooks = inThreadHooks();
  if (registerHooks) {
    // Every module load, CommonJS too, runs these hooks (~45-75 ms for 1,131 modules on Node 26),
    // and CommonJS is instrumented by the compile hook above without them. So, as on Node 20,
    // they start only when ES modules may load, or once a patch whose code may import() or that
    // adds files is active; an ES module require()d before that is instrumented above.
    const start = () => {
      startEsmHooks = null;
      esmHere = false;
      runtime.onActivating = null;
      runtime.esmHooksStarted = true;
      registerInThreadHooks(registerHooks, runtime);
    };
    if (!isMainThread || mayLoadEsModules() || runtime.patchesMayImport()) start();
    else {
      startEsmHooks = start;
      esmHere = true;
      runtime.onActivating = (bundle) => {
        if (patchMayImport(bundle.payload)) start();
      };
    }
  } else if (typeof (Module as unknown as { register?: unknown }).register === 'function') {
    // Node 20: off-thread hooks that read active patches from disk. They are a second isolate
    // (~0.1-0.2 s and ~10 MiB), so they start only when ES modules may load: now when the entry
    // is one (or another preload or loader may bring some), else just before a CommonJS module
    // that may call import() runs (dynamic-import.ts; register() returns once they are up).
    const start = () => {
      startEsmHooks = null;
      runtime.esmHooksStarted = true;
      // Loaded here, before the hooks thread exists, so no import() of it races a require().
      try {
        heavy();
      } catch (e) {
        runtime.problems.push(`instrumenter not loaded: ${(e as Error).message}`);
      }
      // Node 20 runs preloads in the hooks thread too: marked in the environment it is created
      // with (register() returns once it is up), the runtime does not start there, where it would
      // register a second layer of these hooks.
      process.env[HOOKS_THREAD_MARK] = '1';
      try {
        Module.register('./esm-hooks.js', import.meta.url, {
          data: {
            service: runtime.service,
            ownRoot,
            home: hotpatchHome(),
            trustedKeys: process.env.HOTPATCH_TRUSTED_KEYS ?? '',
          },
        });
      } finally {
        delete process.env[HOOKS_THREAD_MARK];
      }
    };
    if (!isMainThread || mayLoadEsModules()) start();
    else startEsmHooks = start;
  }
}

/**
 * An instrumented module's wrapper compiled with the runtime's code cache, or null: Node compiles
 * it (where the cache is not used, and for text V8 cannot compile: the error is then Node's).
 */
function cachedWrapper(
  runtime: HotpatchRuntime,
  code: string,
  filename: string,
  mayImport: boolean,
  dir: string,
): ((...args: unknown[]) => unknown) | null {
  if (!compilesHere(mayImport)) return null;
  try {
    const record = runtime.loading(filename);
    if (!record) return null;
    const compiled = compileModule(code, filename, record.sha256, dir);
    if (compiled) record.codeCacheEntry = compiled.entry;
    return compiled?.wrapper ?? null;
  } catch {
    return null;
  }
}

/** Starts the deferred ESM hooks; null once started (or where they are not needed). */
let startEsmHooks: (() => void) | null = null;
/** Whether ES modules compiled by the CommonJS loader (require(esm)) are instrumented there. */
let esmHere = false;

/**
 * Whether this process may load an ES module other than through a CommonJS module's import()
 * (which starts the hooks when that module compiles): an ES module entry, code given on the
 * command line, or another preload or loader. A false "yes" only costs the hooks' start.
 */
function mayLoadEsModules(): boolean {
  const options = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const imports = options.filter((o) => o === '--import' || o.startsWith('--import=')).length;
  if (
    imports > (preloadedByImport ? 1 : 0) ||
    options.some((o) => /^--(experimental-)?loader|^--input-type=module|^--experimental-default-type/.test(o))
  )
    return true;
  const main = process.argv[1];
  if (!main) return true; // -e, -p, the REPL, stdin
  return entryMayBeModule(main);
}
/** Set by the `--import` entry (preload-import.ts) before it loads the runtime: that --import is ours. */
const BY_IMPORT = Symbol.for('hotpatch.preloadedByImport');
const preloadedByImport = (globalThis as Record<symbol, unknown>)[BY_IMPORT] === true;
delete (globalThis as Record<symbol, unknown>)[BY_IMPORT];
const problems: string[] = [];
let runtime: HotpatchRuntime | null = null;
try {
  runtime = install(problems);
} catch (e) {
  problems.push(`runtime not started: ${(e as Error).message}; the app runs without hotpatching`);
}
warn(runtime ? runtime.problems : problems);

export { runtime };
