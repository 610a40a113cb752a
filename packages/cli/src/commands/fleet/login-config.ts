/**
 * The CLI's config file (like npm's .npmrc): server URL and API token saved by `hotpatch login`,
 * mode 0600 in a 0700 directory. Environment variables and flags override it.
 * Location: $HOTPATCH_CONFIG, else $XDG_CONFIG_HOME/hotpatch/config.json, else ~/.config/hotpatch/config.json.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HotpatchError } from '@hotpatch/core';
import { writeFileAtomic } from '../io.js';

export interface LoginConfig {
  server: string;
  token: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOTPATCH_CONFIG) return env.HOTPATCH_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'hotpatch', 'config.json');
}

/** The saved login, or null when there is none. A file that exists but is unreadable or not ours is an error. */
export function readLogin(file = configPath()): LoginConfig | null {
  if (!existsSync(file)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HotpatchError(
      'E_IO',
      `config file ${file} is not valid JSON (${(e as Error).message}); run hotpatch login again`,
    );
  }
  const c = data as Partial<LoginConfig>;
  if (typeof c.server !== 'string' || typeof c.token !== 'string')
    throw new HotpatchError('E_IO', `config file ${file} lacks server and token; run hotpatch login again`);
  return { server: c.server, token: c.token };
}

export function writeLogin(config: LoginConfig, file = configPath()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  // The file may have existed with wider permissions: a token is a secret.
  chmodSync(file, 0o600);
}

export function removeLogin(file = configPath()): boolean {
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}
