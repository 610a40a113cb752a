/**
 * Failed authentications (any 401) are audited, bounded: the first failure from a source in a
 * window is recorded at once, the rest of that window as one entry with a count. At most
 * MAX_SOURCES sources are tracked per window; the others are counted together.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Database } from '../db/types.js';
import { auditMany } from '../store.js';

const MAX_SOURCES = 1000;

export class AuthFailures {
  readonly #window = new Map<string, { count: number; paths: Set<string> }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger,
    private readonly windowMs = 60_000,
  ) {}

  record(source: string, path: string): void {
    const key = this.#window.has(source) || this.#window.size < MAX_SOURCES ? source : 'other';
    const w = this.#window.get(key);
    if (w) {
      w.count++;
      if (w.paths.size < 10) w.paths.add(path);
      return;
    }
    this.#window.set(key, { count: 0, paths: new Set([path]) });
    void this.#write([{ source: key, count: 1, paths: [path], first: true }]);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.windowMs);
      this.#timer.unref();
    }
  }

  /** Writes the window's further failures (one entry per source) and starts a new window. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const rest = [...this.#window].filter(([, w]) => w.count > 0);
    this.#window.clear();
    return this.#write(
      rest.map(([source, w]) => ({ source, count: w.count, paths: [...w.paths], first: false })),
    );
  }

  #write(items: Array<{ source: string; count: number; paths: string[]; first: boolean }>): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return auditMany(
      this.db,
      items.map((i) => ({
        actor: `anonymous (${i.source})`,
        action: 'auth.failed',
        subject: i.source,
        detail: { count: i.count, paths: i.paths, ...(i.first ? {} : { windowMs: this.windowMs }) },
      })),
    ).catch((e: Error) => this.log.error({ err: e }, 'auditing failed authentications failed'));
  }
}

export function installAuthAudit(app: FastifyInstance, failures: AuthFailures): void {
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401)
      failures.record(req.ip, req.routeOptions.url ?? req.url.split('?')[0] ?? '');
  });
}
