import type { Prepared, Refusal } from './engines/types.js';

/**
 * Commits the prepared parts of one change in order, all or none: when a part refuses or throws,
 * the parts already committed are rolled back, last first, and the refusal is returned. A part
 * that throws is asked to roll itself back too (engines restore what they touched). Pure control
 * flow: the engines do the work.
 */
export function commitAll(parts: readonly Prepared[]): Refusal | null {
  const done: Prepared[] = [];
  for (const part of parts) {
    let refused: Refusal | null;
    try {
      refused = part.commit();
    } catch (e) {
      part.rollback();
      refused = { ok: false, pending: false, reason: `engine error: ${(e as Error).message}` };
    }
    if (refused) {
      rollbackAll(done);
      return refused;
    }
    done.push(part);
  }
  return null;
}

/** Rolls committed parts back, last first. */
export function rollbackAll(parts: readonly Prepared[]): void {
  for (const part of [...parts].reverse()) part.rollback();
}

/** Runs an engine's prepare step; an exception there is a refusal (nothing was changed yet). */
export function safePrepare(prepare: () => Prepared | Refusal): Prepared | Refusal {
  try {
    return prepare();
  } catch (e) {
    return { ok: false, pending: false, reason: (e as Error).message };
  }
}

/** The same, for a prepare step that may wait (the redirect engine loading ES modules first). */
export async function safePrepareAsync(
  prepare: () => Prepared | Refusal | Promise<Prepared | Refusal>,
): Promise<Prepared | Refusal> {
  try {
    return await prepare();
  } catch (e) {
    return { ok: false, pending: false, reason: (e as Error).message };
  }
}
