/**
 * Simulated devices for integration tests: real HTTP enrollment and a real WebSocket client
 * (`ws`) speaking the device protocol as raw JSON, so a test can send what a hostile or broken
 * device would send.
 */
import { once } from 'node:events';
import { parseBundle } from '@hotpatch/core';
import WebSocket from 'ws';
import type { Fixture } from './fixture.js';

export type Msg = Record<string, unknown>;

export interface Sim {
  ws: WebSocket;
  messages: Msg[];
  /** Close code and reason once the server closed the channel. */
  closed: Promise<{ code: number; reason: string }>;
  next(type: string, timeoutMs?: number): Promise<Msg>;
  send(m: unknown): void;
}

export async function enroll(
  url: string,
  token: string,
  host: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Msg }> {
  const r = await fetch(`${url}/v1/enroll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ host, service: 'sim', ...body }),
  });
  return { status: r.status, json: (await r.json()) as Msg };
}

/** Enrolls and insists on success; returns the device id and credential. */
export async function enrollOk(
  url: string,
  token: string,
  host: string,
  body: Record<string, unknown> = {},
): Promise<{ deviceId: string; credential: string }> {
  const r = await enroll(url, token, host, body);
  if (r.status !== 201 && r.status !== 200)
    throw new Error(`enroll ${host}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { deviceId: string; credential: string };
}

/** A runtime's facts (the agent's hello) with these packages loaded; `over` replaces fields. */
export function runtimeFacts(
  packages: Array<{ name: string; version: string; files: Array<{ path: string; sha256: string }> }>,
  over: Record<string, unknown> = {},
): Msg {
  return {
    pid: 4242,
    service: 'sim',
    node: 'v22.1.0',
    engine: 'liveedit',
    signatureEnforcement: true,
    startedAt: new Date().toISOString(),
    patches: [],
    packages,
    ...over,
  };
}

export function minimistFacts(fx: Fixture, over: Record<string, unknown> = {}): Msg {
  const files = parseBundle(fx.bundle).payload.files.map((f) => ({ path: f.path, sha256: f.baselineSha256 }));
  return runtimeFacts([{ name: 'minimist', version: '1.2.5', files }], over);
}

export async function connect(url: string, credential: string, track: WebSocket[]): Promise<Sim> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/agent`, {
    headers: { authorization: `Bearer ${credential}` },
  });
  track.push(ws);
  const messages: Msg[] = [];
  const waiters: Array<{ type: string; resolve: (m: Msg) => void }> = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Msg;
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(m);
    else messages.push(m);
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await once(ws, 'open');
  return {
    ws,
    messages,
    closed,
    next(type, timeoutMs = 10_000) {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0] as Msg);
      return new Promise((resolve, reject) => {
        const w = {
          type,
          resolve: (m: Msg) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no ${type} message within ${timeoutMs} ms (got ${JSON.stringify(messages)})`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    send: (m) => ws.send(JSON.stringify(m)),
  };
}

/** Connects and says hello; resolves after the welcome. */
export async function online(url: string, credential: string, facts: Msg, track: WebSocket[]): Promise<Sim> {
  const s = await connect(url, credential, track);
  s.send({ type: 'hello', protocol: 1, facts });
  await s.next('welcome');
  return s;
}
