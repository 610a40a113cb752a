/**
 * `fleet-bench --reuse FILE`: enrolling 100,000 devices takes minutes, so a run may keep its
 * PostgreSQL schema and write the devices' credentials and the tokens to FILE; a later run with the
 * same FILE and --devices starts its replicas on that schema and connects the enrolled devices
 * (no enrollment). The previous run's deployments, bundles and replica rows are deleted first:
 * the fixture signs a fresh bundle with a fresh key every run, and an old deployment would be
 * deployed again the moment the devices connect.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';

export interface Kept {
  version: 1;
  schema: string;
  devices: number;
  adminToken: string;
  enrollToken: string;
  /** Device i's credential (host sim-<i>). */
  credentials: string[];
}

/** The kept run in `file`, or null when there is none yet; throws when it does not fit this run. */
export function loadKept(file: string, devices: number): Kept | null {
  if (!existsSync(file)) return null;
  const k = JSON.parse(readFileSync(file, 'utf8')) as Kept;
  if (k.version !== 1 || !Array.isArray(k.credentials) || k.credentials.length !== k.devices)
    throw new Error(`${file} is not a fleet-bench credentials file`);
  if (k.devices !== devices)
    throw new Error(
      `${file} holds ${k.devices} devices, not ${devices}: use --devices ${k.devices} or another file`,
    );
  return k;
}

export function saveKept(file: string, k: Kept): void {
  writeFileSync(file, JSON.stringify(k), { mode: 0o600 });
}

/** Leaves the kept schema as a fresh run would find it after enrollment: devices and tokens only. */
export async function resetKept(databaseUrl: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const found = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0)
      throw new Error(`schema ${schema} is gone: delete the credentials file to enroll again`);
    await c.query(`SET search_path TO ${schema}`);
    await c.query('BEGIN');
    await c.query('DELETE FROM deployments'); // cascades to deployment_devices and deployment_health
    await c.query('DELETE FROM bundles');
    await c.query('DELETE FROM baselines');
    await c.query('DELETE FROM replicas');
    await c.query('UPDATE devices SET connected = false, replica_id = NULL WHERE connected');
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}
