/**
 * What the agent tells the server besides the hello: each deployment's latest state and health
 * report (kept, and re-sent after every reconnect: the server's upsert is idempotent), the
 * runtime's facts when they change, and errors thrown from patched code.
 */
import type { Facts, HealthMessage, StateMessage } from '@hotpatch/protocol';
import type { AgentRuntime } from './agent-types.js';

/** The runtime's status is what the agent sends as facts: the compiler keeps the two in step. */
export const factsOf = (rt: AgentRuntime): Facts => rt.status();

/** What reporting needs from the connection. */
export interface ReportLink {
  isConnected(): boolean;
  /** Sends when the connection is open; else drops (what matters is kept and replayed). */
  send(m: unknown): void;
  /** A state was reported (the agent's 'state' event). */
  onState(m: StateMessage): void;
}

export class Reports {
  readonly #rt: AgentRuntime;
  readonly #link: ReportLink;
  /** Latest state per deployment, re-sent after every (re)connect: the server's upsert is idempotent. */
  readonly #outbox = new Map<string, StateMessage>();
  /** Health reports, re-sent after a reconnect too. */
  readonly #healthOut = new Map<string, HealthMessage>();
  #lastFacts = '';
  #modules = -1;
  #factsTimer: NodeJS.Timeout | null = null;
  #loadTimer: NodeJS.Timeout | null = null;

  constructor(rt: AgentRuntime, link: ReportLink) {
    this.#rt = rt;
    this.#link = link;
  }

  /** Re-sends changed facts every factsIntervalMs, and soon after the set of loaded modules changes. */
  start(factsIntervalMs: number): void {
    this.#factsTimer = setInterval(() => this.facts(false), factsIntervalMs);
    this.#factsTimer.unref();
    // Modules load after the agent starts (it runs before the app): send facts soon after the
    // set of loaded modules changes, so the server sees the components the app really runs.
    this.#loadTimer = setInterval(() => {
      const n = this.#rt.records?.length ?? 0;
      if (n !== this.#modules && this.#link.isConnected()) {
        this.#modules = n;
        this.facts(false);
      }
    }, 500);
    this.#loadTimer.unref();
  }

  stop(): void {
    if (this.#factsTimer) clearInterval(this.#factsTimer);
    if (this.#loadTimer) clearInterval(this.#loadTimer);
  }

  /** A new connection: its hello carries the facts, then every kept report is sent again. */
  hello(send: (text: string) => void, protocol: number): void {
    const facts = factsOf(this.#rt);
    this.#lastFacts = JSON.stringify(facts);
    this.#modules = this.#rt.records?.length ?? 0;
    send(JSON.stringify({ type: 'hello', protocol, facts }));
    for (const m of this.#outbox.values()) send(JSON.stringify(m));
    for (const m of this.#healthOut.values()) send(JSON.stringify(m));
  }

  state(m: StateMessage): void {
    this.#outbox.set(m.deploymentId, m);
    if (this.#outbox.size > 100) this.#outbox.delete(this.#outbox.keys().next().value as string);
    this.#link.send(m);
    this.#link.onState(m);
  }

  /** The state last reported for a deployment. */
  lastState(deploymentId: string): StateMessage | undefined {
    return this.#outbox.get(deploymentId);
  }

  health(m: HealthMessage): void {
    this.#healthOut.set(m.deploymentId, m);
    if (this.#healthOut.size > 100) this.#healthOut.delete(this.#healthOut.keys().next().value as string);
    this.#link.send(m);
  }

  hasHealth(deploymentId: string): boolean {
    return this.#healthOut.has(deploymentId);
  }

  /** The runtime's facts, when they changed since last sent (or when forced). */
  facts(force: boolean): void {
    if (!this.#link.isConnected()) return;
    const facts = factsOf(this.#rt);
    const text = JSON.stringify(facts);
    if (!force && text === this.#lastFacts) return;
    this.#lastFacts = text;
    this.#link.send({ type: 'facts', facts });
  }

  /** Uncaught errors thrown from patched code count toward the policy's rollback rule. */
  countError(e: Error): void {
    const stack = e?.stack ?? '';
    for (const r of this.#rt.records ?? []) {
      if (r.patchId && stack.includes(r.filename)) {
        this.#link.send({ type: 'errors', patchId: r.patchId, count: 1 });
        return;
      }
    }
  }
}
