/**
 * Device agent: connects a runtime to a Hotpatch control plane. Enrolls once with an enrollment
 * token and keeps the per-device credential in the runtime's home, keeps a WebSocket open to one
 * of the configured replicas (`ws`, bundled into the preload; fails over to the next URL and
 * reconnects with exponential backoff and jitter), sends the runtime's facts, applies the deploys
 * it is sent and reports each state transition. The messages are @hotpatch/protocol's.
 *
 * This file is the connection (failover, backoff, idle detection, close codes); the credential
 * (agent-credentials.ts), deploys and reverts (agent-deploys.ts) and what is reported and re-sent
 * after a reconnect (agent-reports.ts) are beside it.
 *
 * While the server is down the process keeps running what it has: the runtime's own store
 * re-applies active patches on restart, and states not yet delivered are sent on reconnect.
 * Never keeps the process alive (sockets and timers are unref'd) and never throws into the app.
 *
 * Credentials: 401 (unknown credential, e.g. the device was deleted or the database is new) and
 * close code 4004 make the agent enroll again with its enrollment token; 403 and `revoked` (the
 * device was revoked) stop it for good.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  CLOSE,
  checkServerMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  type StateMessage,
} from '@hotpatch/protocol';
import WebSocket from 'ws';
import {
  type Credential,
  credentialFile,
  enroll,
  forgetCredential,
  storedCredential,
} from './agent-credentials.js';
import { Deploys } from './agent-deploys.js';
import type { AgentOptions } from './agent-env.js';
import { Reports } from './agent-reports.js';
import type { AgentRuntime } from './agent-types.js';
import { HealthMonitor } from './health.js';
import { hotpatchHome } from './paths.js';

export type { StateMessage } from '@hotpatch/protocol';
export { type AgentOptions, agentOptionsFromEnv } from './agent-env.js';
export type { AgentRuntime } from './agent-types.js';

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
  #idleTimer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #onError: (e: Error) => void;
  /** Health signals for the policy's gate, measured only while the agent runs. */
  readonly #health = new HealthMonitor();
  readonly #reports: Reports;
  readonly #deploys: Deploys;

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
      this.#cred = storedCredential(dir, this.#credFile, this.#opts.servers, this.#host, runtime.service);
    } catch (e) {
      this.#log(`cannot read stored credential: ${(e as Error).message}`);
    }
    this.#reports = new Reports(runtime, {
      isConnected: () => this.connected,
      send: (m) => this.#send(m),
      onState: (m) => this.emit('state', m),
    });
    this.#deploys = new Deploys(runtime, this.#reports, this.#health);
    this.#onError = (e) => this.#reports.countError(e);
    process.on('uncaughtExceptionMonitor', this.#onError);
    this.#health.start();
    this.#reports.start(this.#opts.factsIntervalMs);
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
    this.#reports.stop();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#deploys.stop();
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

  /** The server no longer knows this credential (device deleted, new database): enroll again. */
  #forget(why: string): void {
    this.#log(`${why}; enrolling again`);
    this.#cred = null;
    forgetCredential(this.#credFile);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const server = this.server;
    this.#cred ??= await enroll(server, {
      file: this.#credFile,
      servers: this.#opts.servers,
      host: this.#host,
      service: this.#rt.service,
      labels: this.#opts.labels ?? {},
      token: this.#opts.enrollToken,
      log: (line) => this.#log(line),
    });
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
      this.#reports.hello((text) => ws.send(text), PROTOCOL_VERSION);
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
        this.#deploys.deploy(msg);
        break;
      case 'revert':
        this.#deploys.revert(msg);
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
}
