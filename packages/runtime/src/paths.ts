import { chmodSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the runtime keeps state. Private to the user: directories are 0700, sockets 0600. */
export function hotpatchHome(): string {
  return process.env.HOTPATCH_HOME ?? join(homedir(), '.cache', 'hotpatch');
}

export function socketDir(): string {
  return join(hotpatchHome(), 'run');
}

export function socketPath(pid: number): string {
  return join(socketDir(), `${pid}.sock`);
}

/** Active patches of a service, re-applied when its processes (re)start. */
export function activeDir(service: string): string {
  return join(hotpatchHome(), 'active', encodeURIComponent(service));
}

export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

export function serviceName(): string {
  if (process.env.HOTPATCH_SERVICE) return process.env.HOTPATCH_SERVICE;
  const main = process.argv[1];
  const base = main ? main.split('/').slice(-2).join('/') : 'node';
  return `${base}`;
}
