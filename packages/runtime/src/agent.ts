/**
 * Device agent: connects a runtime to a Hotpatch server. Enrolls once with an enrollment token
 * (HOTPATCH_SERVER + HOTPATCH_ENROLL_TOKEN) and keeps the per-device credential in the runtime's
 * home, keeps a WebSocket open (reconnects with exponential backoff and jitter), sends the
 * runtime's facts, applies the deploys it is sent and reports each state transition.
 *
 * While the server is down the process keeps running what it has: the runtime's own store
 * re-applies active patches on restart, and states not yet delivered are sent on reconnect.
 * Never keeps the process alive (sockets and timers are unref'd) and never throws into the app.
 *
 * The WebSocket client is a small RFC 6455 client on node:http(s) so that the agent works on
 * every supported Node version (the global WebSocket needs a flag on Node 20) and loads no
 * third-party module into the application.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { isHotpatchError } from '@hotpatch/core';
import { ensurePrivateDir, hotpatchHome } from './paths.js';
import type { ApplyResult, RuntimeStatus } from './runtime.js';

/** Keep in step with packages/server/src/fleet/protocol.ts. */
export const AGENT_PROTOCOL_VERSION = 1;

export type AgentReportState = 'applying' | 'applied' | 'pending' | 'failed' | 'reverted';

type ServerMessage =
  | { type: 'welcome'; deviceId: string; instanceId: number; protocol: number }
  | { type: 'deploy'; deploymentId: string; patchId: string; bundle: string }
  | { type: 'revert'; deploymentId: string; patchId: string }
  | { type: 'revoked' }
  | { type: 'error'; code: string; message: string };

interface StateMessage {
  type: 'state';
  deploymentId: string;
  patchId: string;
  state: AgentReportState;
  reason?: string;
  error?: { code: string; message: string };
}

/** What the agent needs from the runtime (HotpatchRuntime has it). */
export interface AgentRuntime {
  readonly service: string;
  apply(bytes: Buffer): Promise<ApplyResult>;
  revert(patchId: string): ApplyResult;
  status(): RuntimeStatus;
  readonly records?: ReadonlyArray<{ filename: string; patchId: string | null }>;
}

export interface AgentOptions {
  /** Server base URL, http(s)://host:port. */
  server: string;
  /** Enrollment token (needed only until a credential is stored). */
  enrollToken?: string;
  /** Device labels sent at enrollment (rings select on them). */
  labels?: Record<string, string>;
  /** Host part of the device identity (default os.hostname()). */
  host?: string;
  /** Where the credential is kept (default <hotpatch home>/agent). */
  stateDir?: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** How often facts are re-sent when they changed. */
  factsIntervalMs?: number;
  log?: (line: string) => void;
}

export interface Agent
  extends EventEmitter<{ connected: []; disconnected: []; state: [StateMessage]; revoked: [] }> {
  readonly deviceId: string | null;
  readonly connected: boolean;
  stop(): Promise<void>;
}

/** Agent options from HOTPATCH_SERVER, HOTPATCH_ENROLL_TOKEN, HOTPATCH_LABELS (k=v,k=v), HOTPATCH_HOST; null without a server. */
export function agentOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AgentOptions | null {
  if (!env.HOTPATCH_SERVER) return null;
  const labels: Record<string, string> = {};
  for (const pair of (env.HOTPATCH_LABELS ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i > 0) labels[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  const num = (v: string | undefined) => (v && Number.isFinite(Number(v)) ? Number(v) : undefined);
  return {
    server: env.HOTPATCH_SERVER,
    ...(env.HOTPATCH_ENROLL_TOKEN ? { enrollToken: env.HOTPATCH_ENROLL_TOKEN } : {}),
    labels,
    ...(env.HOTPATCH_HOST ? { host: env.HOTPATCH_HOST } : {}),
    ...(num(env.HOTPATCH_AGENT_BACKOFF_MAX_MS) !== undefined
      ? { backoffMaxMs: num(env.HOTPATCH_AGENT_BACKOFF_MAX_MS) }
      : {}),
    ...(num(env.HOTPATCH_AGENT_FACTS_MS) !== undefined
      ? { factsIntervalMs: num(env.HOTPATCH_AGENT_FACTS_MS) }
      : {}),
  };
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

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

// ------------------------------------------------------------------ minimal WebSocket client

/** A client WebSocket (RFC 6455): text frames, ping/pong, close; masked sends. */
export class MiniWebSocket extends EventEmitter<{
  open: [];
  message: [string];
  close: [number];
  error: [Error];
}> {
  #socket: Duplex | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #frag: Buffer[] = [];
  #closed = false;

  constructor(url: string, headers: Record<string, string> = {}) {
    super();
    const u = new URL(url);
    const secure = u.protocol === 'wss:' || u.protocol === 'https:';
    const key = randomBytes(16).toString('base64');
    const req = (secure ? https : http).request({
      host: u.hostname,
      port: u.port || (secure ? 443 : 80),
      path: `${u.pathname}${u.search}`,
      headers: {
        ...headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
      },
    });
    req.on('upgrade', (res, socket, head) => {
      const expect = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (res.headers['sec-websocket-accept'] !== expect) {
        socket.destroy();
        return this.#fail(new Error('bad WebSocket handshake'));
      }
      this.#socket = socket;
      (socket as Duplex & { unref?: () => void; setNoDelay?: (b: boolean) => void }).unref?.();
      (socket as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      socket.on('data', (d: Buffer) => this.#onData(d));
      socket.on('close', () => this.#finish(1006));
      socket.on('error', () => this.#finish(1006));
      this.emit('open');
      if (head.length > 0) this.#onData(head);
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        this.#fail(
          new HttpStatusError(
            res.statusCode ?? 0,
            `WebSocket refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`,
          ),
        ),
      );
    });
    req.on('socket', (s) => s.unref());
    req.on('error', (e) => this.#fail(e));
    req.end();
  }

  get open(): boolean {
    return this.#socket !== null && !this.#closed;
  }

  send(text: string): boolean {
    if (!this.open) return false;
    this.#write(0x1, Buffer.from(text, 'utf8'));
    return true;
  }

  close(code = 1000): void {
    if (!this.open) return;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    this.#write(0x8, p);
    this.#socket?.end();
    this.#finish(code);
  }

  terminate(): void {
    this.#socket?.destroy();
    this.#finish(1006);
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.emit('error', e);
    this.#finish(1006);
  }

  #finish(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', code);
  }

  #write(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.alloc(6) : len < 65536 ? Buffer.alloc(8) : Buffer.alloc(14);
    head[0] = 0x80 | opcode;
    if (len < 126) head[1] = 0x80 | len;
    else if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    mask.copy(head, head.length - 4);
    const body = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) body[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.#socket?.write(Buffer.concat([head, body]));
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    for (;;) {
      if (this.#buf.length < 2) return;
      const b0 = this.#buf[0] as number;
      const b1 = this.#buf[1] as number;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.#buf.length < 4) return;
        len = this.#buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.#buf.length < 10) return;
        len = Number(this.#buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskOff = off;
      if (masked) off += 4;
      if (this.#buf.length < off + len) return;
      let payload = this.#buf.subarray(off, off + len);
      if (masked) {
        const m = this.#buf.subarray(maskOff, maskOff + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ (m[i & 3] as number)));
      }
      this.#buf = this.#buf.subarray(off + len);
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.close(code === 1005 ? 1000 : code);
        this.#finish(code);
        return;
      }
      if (opcode === 0x9) {
        this.#write(0xa, Buffer.from(payload));
        continue;
      }
      if (opcode === 0xa) continue;
      if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
        this.#frag.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.#frag).toString('utf8');
          this.#frag = [];
          this.emit('message', text);
        }
      }
    }
  }
}

// ------------------------------------------------------------------ agent

interface Credential {
  server: string;
  host: string;
  service: string;
  deviceId: string;
  credential: string;
}

function credentialFile(dir: string, server: string, host: string, service: string): string {
  const key = createHash('sha256')
    .update(`${new URL(server).origin}\n${host}\n${service}`)
    .digest('hex')
    .slice(0, 24);
  return join(dir, `device-${key}.json`);
}

async function postJson(
  url: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const u = new URL(url);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(data.length),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('socket', (s) => s.unref());
    req.on('error', reject);
    req.end(data);
  });
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
  readonly #opts: Required<Pick<AgentOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'factsIntervalMs'>> &
    AgentOptions;
  readonly #host: string;
  readonly #credFile: string;
  #cred: Credential | null = null;
  #ws: MiniWebSocket | null = null;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #factsTimer: NodeJS.Timeout | null = null;
  #loadTimer: NodeJS.Timeout | null = null;
  #modules = -1;
  #stopped = false;
  #lastFacts = '';
  /** Latest state per deployment, re-sent after every (re)connect: the server's upsert is idempotent. */
  readonly #outbox = new Map<string, StateMessage>();
  /** Deployments being applied now (a retried deploy joins the running one). */
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #watch = new Map<string, NodeJS.Timeout>();
  readonly #onError: (e: Error) => void;

  constructor(runtime: AgentRuntime, opts: AgentOptions) {
    super();
    this.#rt = runtime;
    this.#opts = { backoffInitialMs: 500, backoffMaxMs: 30_000, factsIntervalMs: 30_000, ...opts };
    this.#host = opts.host ?? hostname();
    const dir = opts.stateDir ?? join(hotpatchHome(), 'agent');
    this.#credFile = credentialFile(dir, opts.server, this.#host, runtime.service);
    try {
      ensurePrivateDir(dir);
      if (existsSync(this.#credFile))
        this.#cred = JSON.parse(readFileSync(this.#credFile, 'utf8')) as Credential;
    } catch (e) {
      this.#log(`cannot read stored credential: ${(e as Error).message}`);
    }
    this.#onError = (e) => this.#countError(e);
    process.on('uncaughtExceptionMonitor', this.#onError);
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
    return this.#ws?.open ?? false;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#factsTimer) clearInterval(this.#factsTimer);
    if (this.#loadTimer) clearInterval(this.#loadTimer);
    for (const t of this.#watch.values()) clearInterval(t);
    process.off('uncaughtExceptionMonitor', this.#onError);
    this.#ws?.close(1000);
    this.#ws = null;
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

  #retry(e: Error): void {
    if (this.#stopped) return;
    const ms = backoffDelay(this.#attempt++, this.#opts.backoffInitialMs, this.#opts.backoffMaxMs);
    if (this.#attempt <= 3 || this.#attempt % 10 === 0) this.#log(`${e.message}; retrying in ${ms} ms`);
    this.#schedule(ms);
  }

  async #enroll(): Promise<Credential> {
    if (!this.#opts.enrollToken)
      throw new Error('no stored credential and no HOTPATCH_ENROLL_TOKEN to enroll with');
    const r = await postJson(new URL('/v1/enroll', this.#opts.server).href, this.#opts.enrollToken, {
      host: this.#host,
      service: this.#rt.service,
      labels: this.#opts.labels ?? {},
    });
    if (r.status !== 200 && r.status !== 201) {
      const err = (r.json.error ?? {}) as { code?: string; message?: string };
      throw new HttpStatusError(
        r.status,
        `enrollment refused: HTTP ${r.status} ${err.code ?? ''} ${err.message ?? ''}`.trim(),
      );
    }
    const cred: Credential = {
      server: this.#opts.server,
      host: this.#host,
      service: this.#rt.service,
      deviceId: String(r.json.deviceId),
      credential: String(r.json.credential),
    };
    writeFileSync(this.#credFile, JSON.stringify(cred), { mode: 0o600 });
    this.#log(`enrolled as ${cred.deviceId} (${this.#host}/${this.#rt.service})`);
    return cred;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#cred ??= await this.#enroll();
    const url = new URL('/v1/agent', this.#opts.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new MiniWebSocket(url.href, { authorization: `Bearer ${this.#cred.credential}` });
    this.#ws = ws;
    ws.on('open', () => {
      this.#attempt = 0;
      const facts = this.#facts();
      this.#lastFacts = JSON.stringify(facts);
      this.#modules = this.#rt.records?.length ?? 0;
      ws.send(JSON.stringify({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, facts }));
      for (const m of this.#outbox.values()) ws.send(JSON.stringify(m));
      this.emit('connected');
    });
    ws.on('message', (text) => {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(text) as ServerMessage;
      } catch {
        return;
      }
      this.#onMessage(msg);
    });
    ws.on('error', (e) => {
      if (e instanceof HttpStatusError && e.status === 401) {
        // The server does not know this credential (e.g. a new database): enroll again.
        this.#log('stored credential refused; enrolling again');
        this.#cred = null;
        rmSync(this.#credFile, { force: true });
      } else if (e instanceof HttpStatusError && e.status === 403) {
        this.#revoked();
      }
    });
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.emit('disconnected');
      if (!this.#stopped) this.#retry(new Error(`disconnected from ${this.#opts.server}`));
    });
  }

  #revoked(): void {
    this.#log('device credential revoked by the server; the agent stops (patches already applied stay)');
    this.emit('revoked');
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
        this.#revoked();
        break;
      case 'error':
        this.#log(`server: ${msg.code} ${msg.message}`);
        break;
      default:
        break;
    }
  }

  #report(m: StateMessage): void {
    this.#outbox.set(m.deploymentId, m);
    if (this.#outbox.size > 100) this.#outbox.delete(this.#outbox.keys().next().value as string);
    this.#ws?.send(JSON.stringify(m));
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
        if (r.state === 'applied' || r.state === 'already-applied')
          this.#report({ ...base, state: 'applied' });
        else {
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

  #revert(msg: Extract<ServerMessage, { type: 'revert' }>): void {
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

  #facts(): RuntimeStatus {
    return this.#rt.status();
  }

  #sendFacts(force: boolean): void {
    if (!this.connected) return;
    const facts = this.#facts();
    const text = JSON.stringify(facts);
    if (!force && text === this.#lastFacts) return;
    this.#lastFacts = text;
    this.#ws?.send(JSON.stringify({ type: 'facts', facts }));
  }

  /** Uncaught errors thrown from patched code count toward the policy's rollback rule. */
  #countError(e: Error): void {
    const stack = e?.stack ?? '';
    for (const r of this.#rt.records ?? []) {
      if (r.patchId && stack.includes(r.filename)) {
        this.#ws?.send(JSON.stringify({ type: 'errors', patchId: r.patchId, count: 1 }));
        return;
      }
    }
  }
}
