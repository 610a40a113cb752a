import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import type { Database } from './types.js';

export interface StorageOptions {
  /** Data directory (PGlite lives in DIR/pglite unless databaseUrl is given). */
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL schema to use (created if missing). */
  databaseSchema?: string;
  /** Connections in the PostgreSQL pool (default 10; plus one for LISTEN). */
  databasePoolSize?: number;
}

export async function openDatabase(opts: StorageOptions): Promise<Database> {
  let db: Database;
  if (opts.databaseUrl) {
    if (opts.databaseSchema) {
      const admin = await openPostgres(opts.databaseUrl);
      try {
        await admin.exec(`CREATE SCHEMA IF NOT EXISTS "${opts.databaseSchema.replace(/"/g, '')}"`);
      } catch (e) {
        // Replicas starting together race on CREATE SCHEMA: "already exists" means it is there.
        const code = (e as { code?: string }).code;
        if (code !== '23505' && code !== '42P06') throw e;
      } finally {
        await admin.close();
      }
    }
    db = await openPostgres(opts.databaseUrl, opts.databaseSchema, opts.databasePoolSize);
  } else {
    const dir = join(opts.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    db = await openPglite(dir);
  }
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
