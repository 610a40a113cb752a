/**
 * The fleet commands' connection to the control plane: server URL and token from --server/--token,
 * HOTPATCH_SERVER/HOTPATCH_TOKEN (HOTPATCH_TOKEN_FILE names a file holding it), else the config
 * file `hotpatch login` writes; one request function; output helpers shared by every noun.
 */
import { readFileSync } from 'node:fs';
import { HotpatchError } from '@hotpatch/core';
import { createClient, type Method } from '@hotpatch/protocol/client';
import { ApiError } from '@hotpatch/protocol/errors';
import { type Command, InvalidArgumentError } from 'commander';
import { readLogin } from './login-config.js';

export interface ConnOptions {
  server?: string;
  token?: string;
}

/** A refusal or failure reported by the server (4xx/5xx) or an unreachable server. */
export class FleetRequestError extends HotpatchError {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(status === 0 ? 'E_IO' : 'E_USAGE', message, status >= 500 ? 1 : 2);
    this.name = 'FleetRequestError';
    this.status = status;
    this.field = field;
  }
}

export type Json = Record<string, unknown>;

/** The token from HOTPATCH_TOKEN, else the file HOTPATCH_TOKEN_FILE names. */
export function tokenFromEnv(): string | undefined {
  if (process.env.HOTPATCH_TOKEN) return process.env.HOTPATCH_TOKEN;
  if (!process.env.HOTPATCH_TOKEN_FILE) return undefined;
  try {
    return readFileSync(process.env.HOTPATCH_TOKEN_FILE, 'utf8').trim();
  } catch {
    throw new HotpatchError('E_IO', `HOTPATCH_TOKEN_FILE ${process.env.HOTPATCH_TOKEN_FILE} cannot be read`);
  }
}

/** Flags, then environment, then the saved login (`hotpatch login`). */
export function conn(opts: ConnOptions): { server: string; token: string } {
  // HOTPATCH_SERVER may list several replicas (the agent fails over): the API is the same on each.
  const envServer = process.env.HOTPATCH_SERVER?.split(',')[0]?.trim();
  const saved = opts.server && opts.token ? null : readLogin();
  const server = opts.server ?? envServer ?? saved?.server;
  if (!server)
    throw new HotpatchError(
      'E_USAGE',
      'no server: pass --server URL, set HOTPATCH_SERVER, or run hotpatch login URL',
    );
  // A saved token belongs to the saved server: never send it to another one.
  const token =
    opts.token ??
    tokenFromEnv() ??
    (saved && saved.server === server.replace(/\/+$/, '') ? saved.token : undefined);
  if (!token)
    throw new HotpatchError(
      'E_USAGE',
      'no API token: pass --token, set HOTPATCH_TOKEN, or run hotpatch login (the first admin token is in <data dir>/admin-token)',
    );
  return { server: server.replace(/\/+$/, ''), token };
}

/** One call through the protocol's client; refusals and an unreachable server become FleetRequestError. */
export async function api(
  opts: ConnOptions,
  method: Method,
  path: string,
  body?: unknown,
  raw?: string,
): Promise<Json> {
  const { server, token } = conn(opts);
  try {
    return (
      (await createClient({ base: server, token }).request<Json | null>(method, path, body, { raw })) ?? {}
    );
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 0) throw new FleetRequestError(0, e.message);
    const where = e.field ? ` (${e.field})` : '';
    const code = e.code === `HTTP_${e.status}` ? `HTTP ${e.status}` : e.code;
    throw new FleetRequestError(e.status, `server refused: ${code}: ${e.message}${where}`, e.field);
  }
}

export function withConn(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'server URL (default $HOTPATCH_SERVER, else the saved login)')
    .option(
      '--token <token>',
      'API token (default $HOTPATCH_TOKEN, the file $HOTPATCH_TOKEN_FILE, else the saved login)',
    );
}

export function print(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

export function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

export function labelArg(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected KEY=VALUE');
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
}

/** --ring NAME[:KEY=VALUE,...][:DAYS], e.g. canary:ring=canary:0 or broad::3 */
export function parseRing(
  value: string,
  prev: Array<{ name: string; selector: Record<string, string>; deferralDays: number }> = [],
) {
  const [name, sel = '', days = '0'] = value.split(':');
  if (!name) throw new InvalidArgumentError('expected NAME[:KEY=VALUE,...][:DEFERRAL_DAYS]');
  const selector: Record<string, string> = {};
  for (const pair of sel.split(',').filter(Boolean)) Object.assign(selector, labelArg(pair));
  const deferralDays = Number(days);
  if (!Number.isFinite(deferralDays) || deferralDays < 0)
    throw new InvalidArgumentError(`ring ${name}: deferral days must be a number >= 0`);
  return [...prev, { name, selector, deferralDays }];
}
