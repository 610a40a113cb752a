/**
 * Bundles the runtime (dist/bundle):
 * - runtime.cjs: the in-process runtime (register.ts), CommonJS, one file. The parser, the
 *   instrumenter and bundle validation (heavy.ts) and the fleet agent (agent.ts) are in it but
 *   run on first use only (lazy-bundled.ts takes lazy.ts's place: esbuild initialises a module
 *   require()d this way when it is first required). One file means one instance of each module.
 * - register.cjs: the preload (preload.ts, for --require), which runs runtime.cjs with a V8 code
 *   cache (code-cache.ts); register.js: the same for --import (preload-import.ts).
 * - esm-hooks.js (Node 20's off-thread hooks) and checker.js (an apply's pure checks in a worker
 *   thread), with heavy.js: ES modules sharing chunks; they run in threads of their own.
 *
 * The workspace packages are marked free of side effects: the runtime imports a few light parts
 * of @hotpatch/core and @hotpatch/instrument (errors, signing, the convention's names), and
 * their index files would otherwise bring the bundle schema (TypeBox) and the parser with them
 * into the start-up path.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const workspace = [resolve(here, '../core/dist'), resolve(here, '../instrument/dist')];
const inWorkspace = (path) => workspace.some((dir) => path.startsWith(`${dir}/`));

const pureWorkspace = {
  name: 'pure-workspace-packages',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      if (!args.path.startsWith('@hotpatch/') && !(args.path.startsWith('.') && inWorkspace(args.importer)))
        return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'inner',
      });
      if (r.errors.length > 0 || !inWorkspace(r.path))
        return r.errors.length ? { errors: r.errors } : undefined;
      return { path: r.path, sideEffects: false };
    });
  },
};

/**
 * node:fs, node:util and node:crypto through require(), not import. An ES module's import of a
 * builtin builds its module facade, which reads every export: fs.promises, util's and crypto's
 * lazy getters then load modules the runtime never uses (fs/promises, readline, REPL history,
 * util's diff and parse_args, webcrypto: on Node 26 ~25 modules and ~2 MiB at start). Each
 * virtual module re-exports the names the build's Node has, evaluated only where imported
 * (esbuild drops the unused pure ones). Not for the other builtins: done for all of them, an empty
 * script on Node 20 took 3.6 MiB more (V8 deserializing more of the snapshot; cause not found).
 */
const BY_REQUIRE = /^node:(fs|util|crypto)$/;
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: BY_REQUIRE }, (args) =>
      args.namespace === 'builtin'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter(
        (n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n),
      );
      const lines = [`const m = require(${JSON.stringify(args.path)});`, 'export default m;'];
      for (const n of names) lines.push(`export const ${n} = /* @__PURE__ */ (() => m.${n})();`);
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

const outdir = resolve(here, 'dist/bundle');
mkdirSync(outdir, { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  metafile: process.argv.includes('--sizes'),
  // ws (the agent's WebSocket client) is CommonJS: its optional native helpers stay out.
  external: ['bufferutil', 'utf-8-validate'],
};
/** In a CommonJS bundle, import.meta.url is the bundle's own file URL. */
const cjsUrl = {
  define: { 'import.meta.url': '__hotpatchUrl' },
  banner: { js: "const __hotpatchUrl = require('node:url').pathToFileURL(__filename).href;" },
};

/** lazy.ts's place in the in-process runtime is lazy-bundled.ts's. */
const lazyBundled = {
  name: 'lazy-bundled',
  setup(b) {
    b.onResolve({ filter: /^\.\/lazy\.js$/ }, (args) => ({
      path: resolve(args.resolveDir, 'lazy-bundled.js'),
    }));
  },
};

/**
 * The in-process runtime: runtime.cjs (register.ts), heavy.cjs and agent.cjs sharing chunks, so
 * that there is one instance of each module; esbuild splits ES modules only, so each output is
 * then turned into CommonJS (imports of chunks become require() calls).
 */
const results = [];
const inProcess = await build({
  ...common,
  entryPoints: { runtime: 'dist/register.js', heavy: 'dist/heavy.js', agent: 'dist/agent.js' },
  absWorkingDir: here,
  splitting: true,
  format: 'esm',
  outdir,
  outExtension: { '.js': '.cjs' },
  chunkNames: 'chunk-[hash]',
  metafile: true,
  write: false,
  plugins: [lazyBundled, pureWorkspace],
});
results.push(inProcess);
for (const file of inProcess.outputFiles) {
  const { code } = await transform(file.text, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    define: cjsUrl.define,
    banner: cjsUrl.banner.js,
  });
  writeFileSync(file.path, code);
}
// The preload names the cache by the runtime's build (and by the file's identity on disk).
const runtimeBuild = createHash('sha256')
  .update(readFileSync(resolve(outdir, 'runtime.cjs')))
  .digest('hex')
  .slice(0, 16);
results.push(
  await build({
    ...common,
    ...cjsUrl,
    entryPoints: [resolve(here, 'dist/preload.js')],
    format: 'cjs',
    outfile: resolve(outdir, 'register.cjs'),
    define: { ...cjsUrl.define, HOTPATCH_RUNTIME_BUILD: JSON.stringify(runtimeBuild) },
    plugins: [pureWorkspace],
  }),
  await build({
    ...common,
    entryPoints: [resolve(here, 'dist/preload-import.js')],
    format: 'esm',
    outfile: resolve(outdir, 'register.js'),
    external: [...common.external, './register.cjs'],
  }),
  await build({
    ...common,
    entryPoints: ['dist/esm-hooks.js', 'dist/checker.js', 'dist/heavy.js'].map((f) => resolve(here, f)),
    splitting: true,
    format: 'esm',
    outdir,
    chunkNames: 'chunk-[hash]',
    // heavy.js's CommonJS dependencies (estraverse, esrecurse) need a require() in an ES module.
    banner: {
      js: "import { createRequire as __hotpatchCreateRequire } from 'node:module'; const require = __hotpatchCreateRequire(import.meta.url);",
    },
    plugins: [pureWorkspace, builtinsByRequire],
  }),
);
for (const result of results) {
  if (!result.metafile) continue;
  if (!process.argv.includes('--sizes')) continue;
  for (const [file, out] of Object.entries(result.metafile.outputs))
    console.log(`${(out.bytes / 1024).toFixed(0).padStart(5)} KiB  ${file}`);
}
