/**
 * The agent's device credential: enrolled once with the enrollment token, kept (mode 0600) in the
 * state directory, one per device identity (host + service), sent only to the replicas that
 * issued it; forgotten when the server no longer knows it, so that the agent enrolls again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnrollRequest, EnrollResponse } from '@hotpatch/protocol';
import { createClient } from '@hotpatch/protocol/client';
import type { ErrorBody } from '@hotpatch/protocol/errors';
import { unrefFetch } from './enroll-transport.js';
import { ensurePrivateDir } from './paths.js';

export interface Credential {
  /** The replicas this credential was issued by (any of them accepts it: they share a database). */
  servers: string[];
  host: string;
  service: string;
  deviceId: string;
  credential: string;
}

/** Who enrolls, with what, and where the credential is kept. */
export interface Enrollment {
  /** The credential file (credentialFile). */
  file: string;
  /** The replicas' origins. */
  servers: string[];
  host: string;
  service: string;
  labels: Record<string, string>;
  token: string | undefined;
  log: (line: string) => void;
}

/** One credential per device identity (host + service) in the state directory. */
export function credentialFile(dir: string, host: string, service: string): string {
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
export function readCredential(file: string, servers: readonly string[]): Credential | null {
  if (!existsSync(file)) return null;
  const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<Credential> & { server?: string };
  const issuers = c.servers ?? (c.server ? [new URL(c.server).origin] : []);
  if (!c.credential || !c.deviceId || !issuers.some((s) => servers.includes(s))) return null;
  return { ...(c as Credential), servers: issuers };
}

/** The credential stored at start, moved first from where older agents kept it. Throws on I/O errors. */
export function storedCredential(
  dir: string,
  file: string,
  servers: readonly string[],
  host: string,
  service: string,
): Credential | null {
  ensurePrivateDir(dir);
  if (!existsSync(file))
    for (const legacy of legacyCredentialFiles(dir, servers, host, service))
      if (existsSync(legacy)) {
        renameSync(legacy, file);
        break;
      }
  return readCredential(file, servers);
}

/** Enrolls with a server (unless another process of this service has meanwhile) and stores the credential. */
export async function enroll(server: string, e: Enrollment): Promise<Credential> {
  // Another process of this service may have enrolled meanwhile (it shares the state directory).
  const stored = readCredential(e.file, e.servers);
  if (stored) return stored;
  if (!e.token) throw new Error('no stored credential and no HOTPATCH_ENROLL_TOKEN to enroll with');
  const body: EnrollRequest = { host: e.host, service: e.service, labels: e.labels };
  const client = createClient({ base: new URL(server).origin, token: e.token, fetch: unrefFetch });
  const r = await client.send<Partial<EnrollResponse> & Partial<ErrorBody>>('POST', '/v1/enroll', body);
  if (r.status !== 200 && r.status !== 201) {
    const err = r.json.error ?? ({} as { code?: string; message?: string });
    throw new Error(
      `enrollment refused by ${server}: HTTP ${r.status} ${err.code ?? ''} ${err.message ?? ''}`.trim(),
    );
  }
  const cred: Credential = {
    servers: e.servers,
    host: e.host,
    service: e.service,
    deviceId: String(r.json.deviceId),
    credential: String(r.json.credential),
  };
  writeFileSync(e.file, JSON.stringify(cred), { mode: 0o600 });
  e.log(`enrolled as ${cred.deviceId} (${e.host}/${e.service}) with ${server}`);
  return cred;
}

/** The server no longer knows this credential (device deleted, new database): it goes. */
export function forgetCredential(file: string): void {
  rmSync(file, { force: true });
}
