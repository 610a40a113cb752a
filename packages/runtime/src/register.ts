/**
 * The runtime's entry point: `node --import @hotpatch/runtime/register app.js`, or what
 * `hotpatch run` sets up. Installs the load hooks, picks the engine, starts the local control
 * socket and re-applies the service's active patches as their modules load.
 */
import Module from 'node:module';
import { dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { GLOBAL } from '@hotpatch/instrument';
import { agentOptionsFromEnv, startAgent } from './agent.js';
import { startControlServer } from './control.js';
import { LiveEditEngine } from './engines/liveedit.js';
import { RedirectEngine } from './engines/redirect.js';
import type { Engine } from './engines/types.js';
import { serviceName } from './paths.js';
import { HotpatchRuntime } from './runtime.js';
import { Threads } from './threads.js';
import { trustFromEnv } from './trust.js';

/** LiveEdit for CommonJS where V8 still has it (Node <= 25), else the redirect engine. */
export function chooseEngine(): Engine {
  const major = Number(process.versions.node.split('.')[0]);
  const forced = process.env.HOTPATCH_ENGINE;
  if (forced === 'redirect') return new RedirectEngine();
  if (forced === 'liveedit') return new LiveEditEngine();
  return major >= 26 ? new RedirectEngine() : new LiveEditEngine();
}

// Our own code (and its dependencies, loaded before the hooks) is never instrumented.
const ownRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const exclude = (filename: string) =>
  filename.startsWith(`${ownRoot}/`) || filename.includes('/node_modules/@hotpatch/');

const engine = chooseEngine();
const runtime = new HotpatchRuntime({
  engine,
  moduleEngine: engine instanceof RedirectEngine ? engine : new RedirectEngine(),
  trust: trustFromEnv(),
  service: serviceName(),
  exclude,
});

Object.defineProperty(globalThis, GLOBAL, {
  value: Object.freeze({
    c: Object.create(null) as Record<string, unknown>,
    module: (gate: (c: string) => unknown, meta: unknown, functions: number) =>
      runtime.registerModule(gate, meta, functions),
    runtime,
  }),
  enumerable: false,
  configurable: false,
  writable: false,
});

type Compile = (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;
const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
const compile = proto._compile;
proto._compile = function hotpatchCompile(
  this: unknown,
  content: string,
  filename: string,
  ...rest: unknown[]
) {
  let code = content;
  // ES modules reaching here (require(esm), the main entry on newer Node) are handled by the ESM
  // load hook; transforming them here too would instrument them twice.
  if (rest[0] === 'module' || extname(filename) === '.mjs')
    return compile.call(this, content, filename, ...rest);
  try {
    code = runtime.onCompile(filename, content, 'commonjs');
  } catch (e) {
    process.emitWarning(`hotpatch: ${filename} loads unpatched: ${(e as Error).message}`);
  }
  return compile.call(this, code, filename, ...rest);
};

type LoadResult = { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null };
type SyncHooks = {
  load?: (url: string, context: unknown, next: (url: string, context?: unknown) => LoadResult) => LoadResult;
};
const registerHooks = (Module as unknown as { registerHooks?: (hooks: SyncHooks) => unknown }).registerHooks;
if (typeof registerHooks === 'function') {
  // Node 22.15+/23.5+: synchronous, in-thread hooks; ES modules go through the same runtime.
  registerHooks({
    load(url, context, next) {
      const result = next(url, context);
      if (result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;
      const filename = fileURLToPath(url);
      const source =
        typeof result.source === 'string'
          ? result.source
          : Buffer.from(result.source as Uint8Array).toString('utf8');
      try {
        return { ...result, source: runtime.onCompile(filename, source, 'module') };
      } catch (e) {
        process.emitWarning(`hotpatch: ${filename} loads unpatched: ${(e as Error).message}`);
        return result;
      }
    },
  });
} else if (typeof (Module as unknown as { register?: unknown }).register === 'function') {
  // Node 20/22: off-thread hooks that read active patches from disk.
  Module.register('./esm-hooks.js', import.meta.url, {
    data: { service: runtime.service, ownRoot },
  });
}

const threads = new Threads(runtime);
if (isMainThread) startControlServer(runtime, threads);
// Fleet: HOTPATCH_SERVER (+ HOTPATCH_ENROLL_TOKEN, HOTPATCH_LABELS=k=v,..., HOTPATCH_HOST) connects to the control plane.
// A malformed setting is one warning and no agent: the application always starts.
if (isMainThread) {
  const warn = (line: string) => process.stderr.write(`hotpatch agent: ${line}\n`);
  try {
    const agentOptions = agentOptionsFromEnv(process.env, warn);
    if (agentOptions) startAgent(runtime, agentOptions);
  } catch (e) {
    warn(`not started: ${(e as Error).message}`);
  }
}

export { runtime };
