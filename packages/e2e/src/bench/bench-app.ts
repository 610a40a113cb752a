/**
 * The benchmark services' app directory (runtime-bench.ts, cpu-instructions.ts): Express 4.19.2
 * (the version the benchmark's hotpatch targets), Fastify 4 and N generated modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../testing/advisories.js';

export const MODULES = 1000;
const EXPRESS = 'express@4.19.2';
const FASTIFY = 'fastify@4.29.1';
// The services are CommonJS, as most Express and Fastify 4 services are (on Node 20 an ES module
// entry also starts the off-thread ESM hooks: see BENCHMARKS.md).
export const appFile = fileURLToPath(new URL('./app.cjs', import.meta.url));

/** Express 4.19.2 (the version the benchmark's hotpatch targets) and Fastify 4, from the registry. */
export function prepareApp(): string {
  const dir = cacheDir('apps', 'bench-runtime');
  const has = (name: string, version: string) => {
    const file = join(dir, 'node_modules', name, 'package.json');
    return (
      existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version === version
    );
  };
  if (!has('express', EXPRESS.split('@')[1]!) || !has('fastify', FASTIFY.split('@')[1]!)) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hotpatch-bench-app', private: true }));
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', EXPRESS, FASTIFY],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  mkdirSync(join(dir, 'gen'), { recursive: true });
  for (let i = 0; i < MODULES; i++) {
    writeFileSync(
      join(dir, 'gen', `m${i}.js`),
      `'use strict';\nconst base = ${i};\nfunction helper(x) { return x * 2 + base; }\nfunction f(x) {\n  let s = 0;\n  for (let k = 0; k < 3; k++) s += helper(x + k);\n  return s % 97;\n}\nclass Thing${i} { constructor(v) { this.v = v; } get double() { return this.v * 2; } }\nmodule.exports = { f, helper, Thing${i} };\n`,
    );
  }
  return dir;
}
