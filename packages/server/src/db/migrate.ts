import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './types.js';

/** Where the numbered .sql migrations live (packages/server/migrations). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({ id: Number.parseInt(f, 10), name: f, sql: readFileSync(`${dir}/${f}`, 'utf8') }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Applies the migrations not yet recorded, each in its own transaction together with its row in
 * the migrations table. Replicas starting together serialize on an advisory lock.
 */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<string[]> {
  await db.transaction(async (tx) => {
    // Replicas starting together: CREATE TABLE IF NOT EXISTS alone races; the lock makes it safe.
    await tx.query('SELECT pg_advisory_xact_lock(7245001)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
  });
  const applied: string[] = [];
  for (const m of migrations) {
    const ran = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7245001)');
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
      if (done.length > 0) return false;
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}

/** Splits a migration on top-level semicolons (our migrations use no dollar quoting). */
export function splitStatements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}
