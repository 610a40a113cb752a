/**
 * Advisory sync from a URL on a schedule (where one is configured): the URL serves OSV JSON — one
 * record, an array, or {advisories: [...]} (an export of the GitHub Advisory Database or osv.dev
 * for the ecosystems in use). Each replica may sync: imports are idempotent (a record only
 * replaces an older version of itself). Failures are logged and retried at the next period.
 */
import { OsvRecord } from '@hotpatch/protocol';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import { importAdvisories } from './import.js';

const checkRecord = TypeCompiler.Compile(OsvRecord);

export interface AdvisorySyncOptions {
  url: string;
  /** Period between syncs (default 6 hours); the first sync runs at start. */
  intervalMs?: number;
  /** Largest response accepted (default 64 MiB). */
  maxBytes?: number;
}

/** The records in a response body; invalid records are counted, not imported. */
export function parseOsvFeed(body: unknown): { records: OsvRecord[]; invalid: number } {
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { advisories?: unknown }).advisories)
      ? (body as { advisories: unknown[] }).advisories
      : [body];
  const records = list.filter((r): r is OsvRecord => checkRecord.Check(r));
  return { records, invalid: list.length - records.length };
}

export class AdvisorySync {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger,
    private readonly opts: AdvisorySyncOptions,
  ) {}

  start(): void {
    void this.syncNow();
    this.#timer = setInterval(() => void this.syncNow(), this.opts.intervalMs ?? 6 * 3_600_000);
    this.#timer.unref();
  }

  /** One sync; concurrent calls share it. Resolves with what was imported (never rejects). */
  syncNow(): Promise<void> {
    this.#running ??= this.#sync().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sync(): Promise<void> {
    try {
      const res = await fetch(this.opts.url, { signal: AbortSignal.timeout(60_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > (this.opts.maxBytes ?? 64 * 1024 * 1024)) throw new Error('response too large');
      const { records, invalid } = parseOsvFeed(JSON.parse(text));
      const out = await importAdvisories(this.db, records, `sync ${this.opts.url}`, 'system');
      this.log.info(
        { url: this.opts.url, added: out.added.length, updated: out.updated.length, invalid },
        'advisory sync',
      );
    } catch (e) {
      this.log.warn(
        { url: this.opts.url, err: (e as Error).message },
        'advisory sync failed; retried next period',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
