/**
 * Fixtures for the fault suite: small packages built into signed bundles with the real builder,
 * and real HTTP apps started under the runtime.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import { type KeyPairPem, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import { registerFile } from './processes.js';

/** Writes NAME@VERSION with `files` into dir (package.json included). */
export function writePackage(
  dir: string,
  name: string,
  version: string,
  files: Record<string, string>,
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

/** Builds and signs the hotpatch from one directory to another. */
export async function buildLocal(from: string, to: string, key: KeyPairPem): Promise<Buffer> {
  const result = buildPatch({
    from: await resolveSpec(from),
    to: await resolveSpec(to),
    advisories: ['GHSA-test-faul-ts00'],
  });
  if (!result.payload) throw new Error(`fixture does not build live: ${JSON.stringify(result.changes)}`);
  return Buffer.from(serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem))));
}

/**
 * Two changed functions a few characters apart: LiveEdit installs them in two steps and a revert
 * walks back one function at a time. `a` is async and can be left suspended in an await.
 */
export const twoFunctions = (word: string) => `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function a(ms) { await sleep(ms); return '${word}-a'; }
function b() { return '${word}-b'; }
module.exports = { a, b };
`;

/** The same two functions in two files (b in one.js, a in two.js), loaded one.js first. */
export const splitFiles = (word: string) => ({
  'one.js': `function b() { return '${word}-b'; }\nmodule.exports = { b };\n`,
  'two.js': `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));\nasync function a(ms) { await sleep(ms); return '${word}-a'; }\nmodule.exports = { a };\n`,
  'index.js': `const { b } = require('./one.js');\nconst { a } = require('./two.js');\nmodule.exports = { a, b };\n`,
});

/**
 * Probe checks over a fixture: `state` answers exploit = b() is old, normal = a() is old;
 * `hold` starts a call of a() that stays suspended for HOLD_MS.
 */
export const HOLD_MS = 2500;
export function writeChecks(dir: string, main: string): { state: string; hold: string } {
  const state = join(dir, 'state.cjs');
  const hold = join(dir, 'hold.cjs');
  writeFileSync(
    state,
    `module.exports = {
  exploit(load) { return load('${main}').b() === 'old-b'; },
  async normal(load) { return (await load('${main}').a(0)) === 'old-a'; },
};`,
  );
  writeFileSync(
    hold,
    `module.exports = {
  exploit(load) { globalThis.held = load('${main}').a(${HOLD_MS}); return true; },
  normal() { return true; },
};`,
  );
  return { state, hold };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn() is truthy or the time is up; returns the last value. */
export async function until<T>(fn: () => Promise<T> | T, ms: number, step = 100): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!v && Date.now() < end) {
    await sleep(step);
    v = await fn();
  }
  return v;
}

/** An HTTP app under the runtime: prints its port, answers every request with "ok <pid>". */
export const httpApp = `const http = require('http');
const srv = http.createServer((req, res) => res.end('ok ' + process.pid));
srv.listen(0, '127.0.0.1', () => console.log('PORT ' + srv.address().port));
`;

export class App {
  readonly child: ChildProcess;
  stderr = '';
  readonly port: Promise<number>;

  constructor(
    nodeBin: string,
    script: string,
    env: NodeJS.ProcessEnv,
    opts: { runtime?: boolean; cwd?: string } = {},
  ) {
    const args = [...(opts.runtime === false ? [] : ['--import', registerFile]), script];
    this.child = spawn(nodeBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    this.child.stderr!.on('data', (d) => {
      this.stderr += String(d);
    });
    let out = '';
    this.port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app did not start: ${this.stderr}`)), 15_000);
      this.child.stdout!.on('data', (d) => {
        out += String(d);
        const m = /PORT (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`app exited (${code ?? signal}) before serving: ${this.stderr}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async get(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${await this.port}/`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  exited(): Promise<{ code: number | null; signal: string | null }> {
    if (!this.alive()) return Promise.resolve({ code: this.child.exitCode, signal: this.child.signalCode });
    return new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  async stop(): Promise<void> {
    if (!this.alive()) return;
    const done = this.exited();
    this.child.kill('SIGKILL');
    await done;
  }
}
