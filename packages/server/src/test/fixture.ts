/**
 * Test fixture (real parts): minimist 1.2.5 and 1.2.6 installed from npm into a cache dir, a
 * hotpatch for CVE-2021-44906 built with the builder and signed, an app that shows whether the
 * prototype pollution works, and runtime processes started with the agent.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPatch } from '@hotpatch/builder';
import { generateSigningKey, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import { createClient, type DeploymentWaitResponse } from '@hotpatch/protocol';

const runtimeDist = fileURLToPath(new URL('../../../runtime/dist/', import.meta.url));
/** The preload users get (`@hotpatch/runtime/register`): it starts the fleet agent when HOTPATCH_SERVER is set. */
export const registerJs = join(runtimeDist, 'bundle', 'register.js');

export interface Fixture {
  dir: string;
  appDir: string;
  bundle: Buffer;
  patchId: string;
  publicKeyPem: string;
  publicKeyFile: string;
  /** A second, unrelated key (for untrusted-signature tests). */
  otherBundle: Buffer;
}

function npmInstall(dir: string, spec: string): void {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--silent', spec], {
    cwd: dir,
    stdio: 'ignore',
  });
}

let cached: Fixture | null = null;

export function fixture(): Fixture {
  if (cached) return cached;
  const cache = join(tmpdir(), 'hotpatch-server-test-cache');
  const from = join(cache, 'from');
  const to = join(cache, 'to');
  if (!existsSync(join(from, 'node_modules/minimist/package.json'))) npmInstall(from, 'minimist@1.2.5');
  if (!existsSync(join(to, 'node_modules/minimist/package.json'))) npmInstall(to, 'minimist@1.2.6');
  const dir = mkdtempSync(join(tmpdir(), 'hotpatch-server-test-'));
  const appDir = join(dir, 'app');
  mkdirSync(join(appDir, 'node_modules'), { recursive: true });
  execFileSync('cp', ['-r', join(from, 'node_modules/minimist'), join(appDir, 'node_modules/minimist')]);
  writeFileSync(
    join(appDir, 'app.js'),
    `const http = require('http');
const minimist = require('minimist');
const srv = http.createServer((req, res) => {
  minimist(['--_.constructor.constructor.prototype.polluted', 'yes']);
  const polluted = (function () {}).polluted === 'yes';
  delete Function.prototype.polluted;
  res.end(JSON.stringify({ polluted, pid: process.pid, normal: minimist(['-a', '1', '--b=x']).b }));
});
srv.listen(0, '127.0.0.1', () => console.log('PORT', srv.address().port));
`,
  );
  const r = buildPatch({
    from: {
      spec: 'minimist@1.2.5',
      dir: join(from, 'node_modules/minimist'),
      name: 'minimist',
      version: '1.2.5',
      kind: 'npm',
    },
    to: {
      spec: 'minimist@1.2.6',
      dir: join(to, 'node_modules/minimist'),
      name: 'minimist',
      version: '1.2.6',
      kind: 'npm',
    },
    advisories: ['CVE-2021-44906'],
  });
  const payload = r.payload;
  if (!payload) throw new Error(`builder refused the fixture fix: ${r.refusal}`);
  const key = generateSigningKey();
  const other = generateSigningKey();
  const publicKeyFile = join(dir, 'publisher.pub');
  writeFileSync(publicKeyFile, key.publicKeyPem);
  cached = {
    dir,
    appDir,
    bundle: Buffer.from(serializeBundle(signBundle(payload, loadPrivateKey(key.privateKeyPem)))),
    otherBundle: Buffer.from(
      serializeBundle(
        signBundle({ ...payload, patchId: 'other-key-patch' }, loadPrivateKey(other.privateKeyPem)),
      ),
    ),
    patchId: payload.patchId,
    publicKeyPem: key.publicKeyPem,
    publicKeyFile,
  };
  return cached;
}

export interface AppProcess {
  child: ChildProcess;
  port: number;
  pid: number;
  get(): Promise<{ polluted: boolean; pid: number; normal: string }>;
  stop(): Promise<void>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

export async function startApp(
  fx: Fixture,
  opts: {
    server: string;
    enrollToken: string;
    host: string;
    service: string;
    labels?: Record<string, string>;
    home: string;
    /** Extra environment (overrides the above). */
    env?: Record<string, string>;
  },
): Promise<AppProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOTPATCH_HOME: opts.home,
    HOTPATCH_TRUSTED_KEYS: fx.publicKeyFile,
    HOTPATCH_SERVICE: opts.service,
    HOTPATCH_SERVER: opts.server,
    HOTPATCH_ENROLL_TOKEN: opts.enrollToken,
    HOTPATCH_HOST: opts.host,
    HOTPATCH_LABELS: Object.entries(opts.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    HOTPATCH_AGENT_BACKOFF_MAX_MS: '400',
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', registerJs, 'app.js'], {
    cwd: fx.appDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += String(d);
    if (process.env.HOTPATCH_TEST_VERBOSE) process.stderr.write(`[${opts.host}] ${d}`);
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`app exited ${code}: ${stderr}`)));
  });
  return {
    child,
    port,
    pid: child.pid as number,
    stderr: () => stderr,
    async get() {
      return (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {
        polluted: boolean;
        pid: number;
        normal: string;
      };
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** The API client for tests: the protocol's one client; answers of any status come back as {status, json}. */
export function client(base: string, token: string) {
  const c = createClient({ base, token });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response JSON
  type Json = Record<string, any>;
  return {
    get: (p: string) => c.send<Json>('GET', p),
    post: (p: string, b?: unknown) => c.send<Json>('POST', p, b ?? {}),
    postRaw: (p: string, raw: string) => c.send<Json>('POST', p, undefined, { raw }),
    patch: (p: string, b: unknown) => c.send<Json>('PATCH', p, b),
    del: (p: string) => c.send<Json>('DELETE', p),
  };
}

/** Polls fn until it returns a truthy value (no fixed sleeps: it returns as soon as the condition holds). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function readToken(file: string | null): string {
  if (!file) throw new Error('no token file');
  return readFileSync(file, 'utf8').trim();
}

type Api = ReturnType<typeof client>;
export type DeploymentView = DeploymentWaitResponse;

/** Waits on the server's long poll (device state change events) until pred holds. */
export function waitDeployment(
  api: Api,
  id: string,
  pred: (v: DeploymentView) => boolean,
  timeoutMs = 30_000,
): Promise<DeploymentView> {
  return pollDeployment<DeploymentView>(api, id, 'wait', pred, timeoutMs, (v) => v.devices);
}

/**
 * Follows one of a deployment's long polls (`wait`: the full view; `progress`: counts only) until
 * pred holds; throws after timeoutMs with `last` of the latest answer.
 */
export async function pollDeployment<V extends { fingerprint: string }>(
  api: Api,
  id: string,
  poll: 'wait' | 'progress',
  pred: (v: V) => boolean,
  timeoutMs: number,
  last: (v: V) => unknown,
): Promise<V> {
  const end = Date.now() + timeoutMs;
  let since: string | undefined;
  for (;;) {
    const q = since === undefined ? '' : `?since=${encodeURIComponent(since)}&timeoutMs=2000`;
    const r = await api.get(`/v1/deployments/${id}/${poll}${q}`);
    if (r.status !== 200) throw new Error(`${poll}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    const v = r.json as V;
    if (pred(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(last(v))}`);
    since = v.fingerprint;
  }
}
