/** The one storage interface: PGlite (embedded) and PostgreSQL speak the same SQL. */
export type Row = Record<string, unknown>;

export interface Sql {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /**
   * A connection of its own for small writes that must not wait behind a busy pool: a replica's
   * heartbeat written late makes the other replicas mark its devices disconnected.
   */
  readonly priority: Sql;
  /** Runs several statements (no parameters): migrations. */
  exec(text: string): Promise<void>;
  /**
   * Runs fn in one transaction: all of it is written or none. On PostgreSQL fn runs again when the
   * transaction is aborted by a deadlock or a serialization failure (db/retry.ts), so fn keeps its
   * results in what it returns, not in variables outside it.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Cross-replica messages (PostgreSQL LISTEN/NOTIFY; in-process for PGlite). */
  listen(fn: (payload: string) => void): Promise<void>;
  notify(payload: string, tx?: Sql): Promise<void>;
  close(): Promise<void>;
}
