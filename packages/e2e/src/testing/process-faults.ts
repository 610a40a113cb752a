import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { generateSigningKey } from '@hotpatch/core';
import { App, buildLocal, httpApp, twoFunctions, writePackage } from './faults.js';
import { nodeBinaries, repoRoot } from './nodes.js';
export const home = mkdtempSync(join(tmpdir(), 'hotpatch-faults-proc-'));
process.env.HOTPATCH_HOME = home;
export const key = generateSigningKey();
export const keyFile = join(home, 'trusted.pub');
writeFileSync(keyFile, key.publicKeyPem);
export const cli = join(repoRoot, 'packages/cli/bin/hotpatch.js');
export const node26 = nodeBinaries().find((n) => n.major === 26);

export const v1 = join(home, 'pkg/v1');
export const v2 = join(home, 'pkg/v2');
export let bundle: Buffer;
export const appDir = join(home, 'app');
export const appFile = join(appDir, 'server.js');
const apps: App[] = [];

/** Registers the suite's setup and cleanup in the calling test file. */
export function useProcessFaults(): void {
  before(async () => {
    writePackage(v1, 'fault-proc', '1.0.0', { 'index.js': twoFunctions('old') });
    writePackage(v2, 'fault-proc', '1.0.1', { 'index.js': twoFunctions('new') });
    bundle = await buildLocal(v1, v2, key);
    mkdirSync(appDir, { recursive: true });
    writeFileSync(appFile, httpApp);
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    if (!process.env.KEEP_HOME) rmSync(home, { recursive: true, force: true });
  });
}

export function start(
  env: NodeJS.ProcessEnv,
  script = appFile,
  opts: { cwd?: string; bin?: string } = {},
): App {
  const app = new App(opts.bin ?? process.execPath, script, { ...process.env, ...env }, opts);
  apps.push(app);
  return app;
}

export const baseEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOTPATCH_HOME: home,
  HOTPATCH_TRUSTED_KEYS: keyFile,
  HOTPATCH_SERVICE: 'faults-proc',
  ...extra,
});

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the apps answer on their own anyway). */
export function hotpatch(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): Promise<Run> {
  const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath];
  const child = spawn(cmd!, [...pre, cli, ...args], {
    env: { ...process.env, HOTPATCH_HOME: home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr });
    }),
  );
}

export const hotpatchLines = (stderr: string) => stderr.split('\n').filter((l) => l.includes('hotpatch'));
