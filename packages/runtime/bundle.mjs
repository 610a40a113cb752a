/**
 * Bundles the runtime's preload (dist/bundle): register.js (what `node --import` loads),
 * heavy.js (the parser, the instrumenter and bundle validation, loaded on first use by lazy.ts),
 * agent.js (the fleet agent, loaded when HOTPATCH_SERVER is set), esm-hooks.js (Node 20's
 * off-thread hooks) and checker.js (an apply's pure checks, in a worker thread while it runs),
 * sharing chunks so that there is one instance of each module.
 *
 * The workspace packages are marked free of side effects: the preload imports a few light parts
 * of @hotpatch/core and @hotpatch/instrument (errors, signing, the convention's names), and
 * their index files would otherwise bring the bundle schema (TypeBox) and the parser with them.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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

const result = await build({
  entryPoints: [
    'dist/register.js',
    'dist/heavy.js',
    'dist/agent.js',
    'dist/esm-hooks.js',
    'dist/checker.js',
  ].map((f) => resolve(here, f)),
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: resolve(here, 'dist/bundle'),
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  metafile: process.argv.includes('--sizes'),
  // ws (the agent's WebSocket client) is CommonJS: its require() of Node's modules needs one.
  external: ['bufferutil', 'utf-8-validate'],
  banner: {
    js: "import { createRequire as __hotpatchCreateRequire } from 'node:module'; const require = __hotpatchCreateRequire(import.meta.url);",
  },
  plugins: [pureWorkspace, builtinsByRequire],
});
if (result.metafile) {
  for (const [file, out] of Object.entries(result.metafile.outputs))
    console.log(`${(out.bytes / 1024).toFixed(0).padStart(5)} KiB  ${file}`);
}
