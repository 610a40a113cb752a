/**
 * Device agent: connects a runtime to a Hotpatch control plane. Enrolls once with an enrollment
 * token and keeps the per-device credential in the runtime's home, keeps a WebSocket open to one
 * of the configured replicas (`ws`, bundled into the preload; fails over to the next URL and
 * reconnects with exponential backoff and jitter), sends the runtime's facts, applies the deploys
 * it is sent and reports each state transition. The messages are @hotpatch/protocol's.
 *
 * While the server is down the process keeps running what it has: the runtime's own store
 * re-applies active patches on restart, and states not yet delivered are sent on reconnect.
 * Never keeps the process alive (sockets and timers are unref'd) and never throws into the app.
 *
 * Credentials: 401 (unknown credential, e.g. the device was deleted or the database is new) and
 * close code 4004 make the agent enroll again with its enrollment token; 403 and `revoked` (the
 * device was revoked) stop it for good.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isHotpatchError } from '@hotpatch/core';
import {
  CLOSE,
  checkServerMessage,
  type EnrollRequest,
  type EnrollResponse,
  type Facts,
  type HealthMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type StateMessage,
} from '@hotpatch/protocol';
import { createClient } from '@hotpatch/protocol/client';
import type { ErrorBody } from '@hotpatch/protocol/errors';
import WebSocket from 'ws';
import type { AgentOptions } from './agent-env.js';
import { unrefFetch } from './enroll-transport.js';
import { HealthMonitor } from './health.js';
import { ensurePrivateDir, hotpatchHome } from './paths.js';
import type { ApplyResult, RuntimeStatus } from './runtime.js';

export type { StateMessage } from '@hotpatch/protocol';
export { type AgentOptions, agentOptionsFromEnv } from './agent-env.js';

/** The runtime's status is what the agent sends as facts: the compiler keeps the two in step. */
const asFacts = (s: RuntimeStatus): Facts => s;

/** What the agent needs from the runtime (HotpatchRuntime has it). */
export interface AgentRuntime {
  readonly service: string;
  apply(bytes: Buffer): Promise<ApplyResult>;
  revert(patchId: string): ApplyResult;
  status(): RuntimeStatus;
  readonly records?: ReadonlyArray<{ filename: string; patchId: string | null }>;
}

export interface Agent
  extends EventEmitter<{ connected: []; disconnected: []; state: [StateMessage]; revoked: [] }> {
  readonly deviceId: string | null;
  readonly connected: boolean;
  /** The server URL of the current (or last) connection. */
  readonly server: string;
  stop(): Promise<void>;
}

/** Exponential backoff with full jitter: a random delay in [base/2, base], base = min(max, initial * 2^attempt). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

interface Credential {
  /** The replicas this credential was issued by (any of them accepts it: they share a database). */
  servers: string[];
  host: string;
  service: string;
  deviceId: string;
  credential: string;
}

/** One credential per device identity (host + service) in the state directory. */
function credentialFile(dir: string, host: string, service: string): string {
  const key = createHash('sha256').update(`${host}\n${service}`).digest('hex').slice(0, 24);
  return join(dir, `device-${key}.json`);
}

/** Where agents before several-URL support kept it (one file per server origin): read once, then moved. */
function legacyCredentialFiles(
  dir: string,
  servers: readonly string[],
  host: string,
  service: string,
): string[] {
  return servers.map((s) =>
    join(
      dir,
      `device-${createHash('sha256').update(`${s}\n${host}\n${service}`).digest('hex').slice(0, 24)}.json`,
    ),
  );
}

/** The stored credential, if it was issued by one of these servers (never sent to another). */
function readCredential(file: string, servers: readonly string[]): Credential | null {
  if (!existsSync(file)) return null;
  const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<Credential> & { server?: string };
  const issuers = c.servers ?? (c.server ? [new URL(c.server).origin] : []);
  if (!c.credential || !c.deviceId || !issuers.some((s) => servers.includes(s))) return null;
  return { ...(c as Credential), servers: issuers };
}

/** Starts the agent for a runtime. Returns at once; connection happens in the background. */
export function startAgent(runtime: AgentRuntime, opts: AgentOptions): Agent {
  return new AgentImpl(runtime, opts);
}

class AgentImpl
  extends EventEmitter<{ connected: []; disconnected: []; state: [StateMessage]; revoked: [] }>
  implements Agent
{
  readonly #rt: AgentRuntime;
  readonly #opts: Required<
    Pick<AgentOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'factsIntervalMs' | 'idleMs'>
  > &
    AgentOptions;
  readonly #host: string;
  readonly #credFile: string;
  #cred: Credential | null = null;
  #ws: WebSocket | null = null;
  #open = false;
  /** Index into servers of the replica tried next; moves on after every failed attempt. */
  #which = 0;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #factsTimer: NodeJS.Timeout | null = null;
  #loadTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #modules = -1;
  #stopped = false;
  #lastFacts = '';
  /** Latest state per deployment, re-sent after every (re)connect: the server's upsert is idempotent. */
  readonly #outbox = new Map<string, StateMessage>();
  /** Deployments being applied now (a retried deploy joins the running one). */
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #watch = new Map<string, NodeJS.Timeout>();
  readonly #onError: (e: Error) => void;
  /** Health signals for the policy's gate, measured only while the agent runs. */
  readonly #health = new HealthMonitor();
  /** Deployments whose health window is being observed, and the reports (re-sent after a reconnect). */
  readonly #observing = new Map<string, NodeJS.Timeout>();
  readonly #healthOut = new Map<string, HealthMessage>();

  constructor(runtime: AgentRuntime, opts: AgentOptions) {
    super();
    this.#rt = runtime;
    this.#opts = {
      backoffInitialMs: 500,
      backoffMaxMs: 30_000,
      factsIntervalMs: 30_000,
      idleMs: 90_000,
      ...opts,
      servers: opts.servers.map((s) => new URL(s).origin),
    };
    if (this.#opts.servers.length === 0) throw new Error('no server URL');
    this.#host = opts.host ?? hostname();
    const dir = opts.stateDir ?? join(hotpatchHome(), 'agent');
    this.#credFile = credentialFile(dir, this.#host, runtime.service);
    try {
      ensurePrivateDir(dir);
      if (!existsSync(this.#credFile))
        for (const legacy of legacyCredentialFiles(dir, this.#opts.servers, this.#host, runtime.service))
          if (existsSync(legacy)) {
            renameSync(legacy, this.#credFile);
            break;
          }
      this.#cred = readCredential(this.#credFile, this.#opts.servers);
    } catch (e) {
      this.#log(`cannot read stored credential: ${(e as Error).message}`);
    }
    this.#onError = (e) => this.#countError(e);
    process.on('uncaughtExceptionMonitor', this.#onError);
    this.#health.start();
    this.#factsTimer = setInterval(() => this.#sendFacts(false), this.#opts.factsIntervalMs);
    this.#factsTimer.unref();
    // Modules load after the agent starts (it runs before the app): send facts soon after the
    // set of loaded modules changes, so the server sees the components the app really runs.
    this.#loadTimer = setInterval(() => {
      const n = this.#rt.records?.length ?? 0;
      if (n !== this.#modules && this.connected) {
        this.#modules = n;
        this.#sendFacts(false);
      }
    }, 500);
    this.#loadTimer.unref();
    this.#schedule(0);
  }

  get deviceId(): string | null {
    return this.#cred?.deviceId ?? null;
  }

  get connected(): boolean {
    return this.#open;
  }

  get server(): string {
    return this.#opts.servers[this.#which] as string;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#factsTimer) clearInterval(this.#factsTimer);
    if (this.#loadTimer) clearInterval(this.#loadTimer);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    for (const t of this.#watch.values()) clearInterval(t);
    for (const t of this.#observing.values()) clearTimeout(t);
    this.#health.stop();
    process.off('uncaughtExceptionMonitor', this.#onError);
    const ws = this.#ws;
    this.#ws = null;
    this.#open = false;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws?.terminate();
  }

  #log(line: string): void {
    (this.#opts.log ?? ((l: string) => process.stderr.write(`hotpatch agent: ${l}\n`)))(line);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#connect().catch((e: Error) => this.#retry(e));
    }, ms);
    this.#timer.unref();
  }

  /** After a failure: the next replica at once while there is one not yet tried, then backoff. */
  #retry(e: Error): void {
    if (this.#stopped) return;
    const n = this.#opts.servers.length;
    this.#which = (this.#which + 1) % n;
    const ms =
      this.#attempt % n !== n - 1
        ? 0
        : backoffDelay(Math.floor(this.#attempt / n), this.#opts.backoffInitialMs, this.#opts.backoffMaxMs);
    this.#attempt++;
    if (this.#attempt <= 3 || this.#attempt % 10 === 0) this.#log(`${e.message}; retrying in ${ms} ms`);
    this.#schedule(ms);
  }

  async #enroll(server: string): Promise<Credential> {
    // Another process of this service may have enrolled meanwhile (it shares the state directory).
    const stored = readCredential(this.#credFile, this.#opts.servers);
    if (stored) return stored;
    if (!this.#opts.enrollToken)
      throw new Error('no stored credential and no HOTPATCH_ENROLL_TOKEN to enroll with');
    const body: EnrollRequest = {
      host: this.#host,
      service: this.#rt.service,
      labels: this.#opts.labels ?? {},
    };
    const client = createClient({
      base: new URL(server).origin,
      token: this.#opts.enrollToken,
      fetch: unrefFetch,
    });
    const r = await client.send<Partial<EnrollResponse> & Partial<ErrorBody>>('POST', '/v1/enroll', body);
    if (r.status !== 200 && r.status !== 201) {
      const err = r.json.error ?? ({} as { code?: string; message?: string });
      throw new Error(
        `enrollment refused by ${server}: HTTP ${r.status} ${err.code ?? ''} ${err.message ?? ''}`.trim(),
      );
    }
    const cred: Credential = {
      servers: this.#opts.servers,
      host: this.#host,
      service: this.#rt.service,
      deviceId: String(r.json.deviceId),
      credential: String(r.json.credential),
    };
    writeFileSync(this.#credFile, JSON.stringify(cred), { mode: 0o600 });
    this.#log(`enrolled as ${cred.deviceId} (${this.#host}/${this.#rt.service}) with ${server}`);
    return cred;
  }

  /** The server no longer knows this credential (device deleted, new database): enroll again. */
  #forget(why: string): void {
    this.#log(`${why}; enrolling again`);
    this.#cred = null;
    rmSync(this.#credFile, { force: true });
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const server = this.server;
    this.#cred ??= await this.#enroll(server);
    const url = new URL('/v1/agent', server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url.href, {
      headers: { authorization: `Bearer ${this.#cred.credential}` },
      handshakeTimeout: 30_000,
      perMessageDeflate: false,
      finishRequest: (req) => {
        req.on('socket', (s) => s.unref());
        req.end();
      },
    });
    this.#ws = ws;
    let why = '';
    ws.on('upgrade', (res) => res.socket.unref());
    ws.on('open', () => {
      this.#open = true;
      this.#attempt = 0;
      this.#alive(ws);
      const facts = asFacts(this.#rt.status());
      this.#lastFacts = JSON.stringify(facts);
      this.#modules = this.#rt.records?.length ?? 0;
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts }));
      for (const m of this.#outbox.values()) ws.send(JSON.stringify(m));
      for (const m of this.#healthOut.values()) ws.send(JSON.stringify(m));
      this.emit('connected');
    });
    ws.on('ping', () => this.#alive(ws));
    ws.on('message', (data) => {
      this.#alive(ws);
      const msg = checkServerMessage(String(data));
      if (msg.ok) this.#onMessage(msg.value);
      else this.#log(`ignoring a malformed server message: ${msg.error}`);
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 403) return this.#revoked(ws);
      if (status === 401) this.#forget('stored credential refused (401)');
      why = `${server} refused the device channel: HTTP ${status}`;
      ws.terminate();
    });
    ws.on('error', (e) => {
      // 'close' follows; #retry logs why.
      why ||= `${server}: ${e.message}`;
    });
    ws.on('close', (code, reason) => {
      if (this.#ws !== ws) return;
      const wasOpen = this.#open;
      this.#ws = null;
      this.#open = false;
      if (this.#idleTimer) clearTimeout(this.#idleTimer);
      if (wasOpen) this.emit('disconnected');
      if (code === CLOSE.revoked) return this.#revoked(ws);
      if (code === CLOSE.unknown) this.#forget(`${server}: ${String(reason) || 'device unknown'}`);
      if (!this.#stopped) this.#retry(new Error(why || `disconnected from ${server} (${code})`));
    });
  }

  /** Resets the idle timer: a connection that hears nothing for idleMs is half-open; drop it. */
  #alive(ws: WebSocket): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => ws.terminate(), this.#opts.idleMs);
    this.#idleTimer.unref();
  }

  #revoked(ws: WebSocket | null): void {
    if (this.#stopped) return;
    this.#log('device credential revoked by the server; the agent stops (patches already applied stay)');
    this.emit('revoked');
    ws?.terminate();
    void this.stop();
  }

  #onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'deploy':
        this.#deploy(msg);
        break;
      case 'revert':
        this.#revert(msg);
        break;
      case 'revoked':
        this.#revoked(this.#ws);
        break;
      case 'error':
        this.#log(`server: ${msg.code} ${msg.message}`);
        break;
      default:
        break;
    }
  }

  #send(m: unknown): void {
    if (this.#open && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(m));
  }

  #report(m: StateMessage): void {
    this.#outbox.set(m.deploymentId, m);
    if (this.#outbox.size > 100) this.#outbox.delete(this.#outbox.keys().next().value as string);
    this.#send(m);
    this.emit('state', m);
  }

  #deploy(msg: Extract<ServerMessage, { type: 'deploy' }>): void {
    if (this.#inflight.has(msg.deploymentId)) return;
    const done = this.#outbox.get(msg.deploymentId);
    const base = { type: 'state' as const, deploymentId: msg.deploymentId, patchId: msg.patchId };
    const run = (async () => {
      if (done?.state !== 'applied') this.#report({ ...base, state: 'applying' });
      try {
        const r = await this.#rt.apply(Buffer.from(msg.bundle, 'base64'));
        if (r.state === 'applied' || r.state === 'already-applied') {
          this.#report({ ...base, state: 'applied' });
          if (msg.health) this.#observe(msg.deploymentId, msg.patchId, msg.health.windowMs);
        } else {
          this.#report({
            ...base,
            state: 'pending',
            reason:
              r.reason ?? (r.state === 'staged' ? 'target not loaded yet' : 'a changed function is running'),
          });
          this.#watchPending(base);
        }
      } catch (e) {
        const error = isHotpatchError(e)
          ? { code: e.code, message: e.message }
          : { code: 'E_APPLY', message: (e as Error).message };
        this.#report({ ...base, state: 'failed', error });
      }
      this.#sendFacts(true);
    })().finally(() => this.#inflight.delete(msg.deploymentId));
    this.#inflight.set(msg.deploymentId, run);
  }

  /** A pending patch applies when the blocking function returns (the runtime retries); report it then. */
  #watchPending(base: { type: 'state'; deploymentId: string; patchId: string }): void {
    if (this.#watch.has(base.deploymentId)) return;
    const t = setInterval(() => {
      const p = this.#rt.status().patches.find((x) => x.patchId === base.patchId);
      if (!p || p.state === 'applied') {
        clearInterval(t);
        this.#watch.delete(base.deploymentId);
        if (p) this.#report({ ...base, state: 'applied' });
        this.#sendFacts(true);
      } else if (p.reason && p.reason !== this.#outbox.get(base.deploymentId)?.reason) {
        this.#report({ ...base, state: 'pending', reason: p.reason });
      }
    }, 250);
    t.unref();
    this.#watch.set(base.deploymentId, t);
  }

  /**
   * The window before the apply against the window after it, sent once the after-window is over.
   * Started once per deployment (a deploy re-sent after a reconnect does not restart it).
   */
  #observe(deploymentId: string, patchId: string, windowMs: number): void {
    if (this.#observing.has(deploymentId) || this.#healthOut.has(deploymentId)) return;
    this.#health.retain(windowMs);
    const t0 = this.#health.mark();
    const t = setTimeout(() => {
      this.#observing.delete(deploymentId);
      const t1 = this.#health.mark();
      const m: HealthMessage = {
        type: 'health',
        deploymentId,
        patchId,
        before: this.#health.window(t0 - windowMs, t0),
        after: this.#health.window(t0, t1),
      };
      this.#healthOut.set(deploymentId, m);
      if (this.#healthOut.size > 100) this.#healthOut.delete(this.#healthOut.keys().next().value as string);
      this.#send(m);
    }, windowMs);
    t.unref();
    this.#observing.set(deploymentId, t);
  }

  #revert(msg: Extract<ServerMessage, { type: 'revert' }>): void {
    const observing = this.#observing.get(msg.deploymentId);
    if (observing) {
      clearTimeout(observing);
      this.#observing.delete(msg.deploymentId);
    }
    const base = { type: 'state' as const, deploymentId: msg.deploymentId, patchId: msg.patchId };
    const w = this.#watch.get(msg.deploymentId);
    if (w) {
      clearInterval(w);
      this.#watch.delete(msg.deploymentId);
    }
    try {
      const held = this.#rt.status().patches.some((p) => p.patchId === msg.patchId);
      if (held) this.#rt.revert(msg.patchId);
      this.#report({ ...base, state: 'reverted' });
    } catch (e) {
      const error = isHotpatchError(e)
        ? { code: e.code, message: e.message }
        : { code: 'E_APPLY', message: (e as Error).message };
      this.#report({ ...base, state: 'failed', error });
    }
    this.#sendFacts(true);
  }

  #sendFacts(force: boolean): void {
    if (!this.connected) return;
    const facts = asFacts(this.#rt.status());
    const text = JSON.stringify(facts);
    if (!force && text === this.#lastFacts) return;
    this.#lastFacts = text;
    this.#send({ type: 'facts', facts });
  }

  /** Uncaught errors thrown from patched code count toward the policy's rollback rule. */
  #countError(e: Error): void {
    const stack = e?.stack ?? '';
    for (const r of this.#rt.records ?? []) {
      if (r.patchId && stack.includes(r.filename)) {
        this.#send({ type: 'errors', patchId: r.patchId, count: 1 });
        return;
      }
    }
  }
}
