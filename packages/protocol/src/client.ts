/**
 * The one HTTP client for the control plane's API, on the global fetch (Node ≥ 20 and browsers;
 * no node: imports). `send` answers every status (tests assert on refusals); `request` throws
 * ApiError for a refusal or an unreachable server and returns the typed body. The typed calls
 * per route are in api-client.ts.
 */
import { ApiError, errorOf } from './errors.js';

export interface ClientOptions {
  /** The server's base URL (trailing slashes ignored). */
  base: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Another transport (the agent's, whose sockets must not hold the process open). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export interface SendOptions {
  /** A body sent as it is (JSON text), instead of JSON-encoding body. */
  raw?: string;
  headers?: Record<string, string>;
}

/** An answer: status and the parsed JSON body ({} when the body is not JSON). */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  json: T;
  text: string;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export function createClient(opts: ClientOptions) {
  const base = opts.base.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));

  async function fetchOrThrow(method: Method, path: string, body?: unknown, o: SendOptions = {}) {
    const payload = o.raw !== undefined ? o.raw : body !== undefined ? JSON.stringify(body) : undefined;
    try {
      return await doFetch(`${base}${path}`, {
        method,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...o.headers,
        },
        ...(payload !== undefined ? { body: payload } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        0,
        'E_NETWORK',
        `${base ? `server ${base}` : 'the server'} unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      );
    }
  }

  /** Any status comes back; only an unreachable server throws. */
  async function send<T = Record<string, unknown>>(
    method: Method,
    path: string,
    body?: unknown,
    o?: SendOptions,
  ): Promise<Answer<T>> {
    const res = await fetchOrThrow(method, path, body, o);
    const text = await res.text();
    let json = {} as T;
    try {
      if (text) json = JSON.parse(text) as T;
    } catch {
      // not JSON: callers read text
    }
    return { status: res.status, json, text };
  }

  /** The body of a 2xx answer; ApiError for anything else. */
  async function request<T>(method: Method, path: string, body?: unknown, o?: SendOptions): Promise<T> {
    const res = await fetchOrThrow(method, path, body, o);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    if (!res.ok) throw errorOf(res.status, text, json, res.statusText);
    return json as T;
  }

  /** A 2xx answer's text (CSV, metrics); ApiError for anything else. */
  async function text(path: string): Promise<string> {
    const res = await fetchOrThrow('GET', path);
    const t = await res.text();
    if (!res.ok) {
      let json: unknown = null;
      try {
        json = JSON.parse(t);
      } catch {
        // not JSON
      }
      throw errorOf(res.status, t, json, res.statusText);
    }
    return t;
  }

  return { base, send, request, text };
}
export type Client = ReturnType<typeof createClient>;
