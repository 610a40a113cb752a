/**
 * Transaction-scoped advisory locks, one key per kind of work that replicas must not do twice at
 * once. Released when the transaction ends. (7245001 is the migrations' lock, db/migrate.ts.)
 */
import type { Sql } from '../db/types.js';

const LOCKS = {
  /** Creating a deployment: one active deployment per patch and policy. */
  deploymentCreate: 7245002,
  /** First start: the initial tokens and default policy, created once. */
  bootstrap: 7245003,
  /** Marking the devices of expired replicas disconnected: one process at a time does it for all. */
  replicaExpiry: 7245004,
} as const;

export async function lock(tx: Sql, name: keyof typeof LOCKS): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${LOCKS[name]})`);
}

/** Takes the lock if no other transaction holds it; false when one does (its work is under way). */
export async function tryLock(tx: Sql, name: keyof typeof LOCKS): Promise<boolean> {
  const [row] = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCKS[name]}) AS ok`);
  return row?.ok === true;
}
