/**
 * The server's deploy and revert messages: a deploy applies the bundle and reports each state
 * (applying, applied, pending until the blocking function returns, failed), then observes the
 * health window the policy asks for; a revert stops both and reports reverted or failed.
 */
import { isHotpatchError } from '@hotpatch/core';
import type { HealthMessage, ServerMessage } from '@hotpatch/protocol';
import type { Reports } from './agent-reports.js';
import type { AgentRuntime } from './agent-types.js';
import type { HealthMonitor } from './health.js';

type Base = { type: 'state'; deploymentId: string; patchId: string };

export class Deploys {
  readonly #rt: AgentRuntime;
  readonly #reports: Reports;
  readonly #health: HealthMonitor;
  /** Deployments being applied now (a retried deploy joins the running one). */
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #watch = new Map<string, NodeJS.Timeout>();
  /** Deployments whose health window is being observed. */
  readonly #observing = new Map<string, NodeJS.Timeout>();

  constructor(rt: AgentRuntime, reports: Reports, health: HealthMonitor) {
    this.#rt = rt;
    this.#reports = reports;
    this.#health = health;
  }

  stop(): void {
    for (const t of this.#watch.values()) clearInterval(t);
    for (const t of this.#observing.values()) clearTimeout(t);
  }

  deploy(msg: Extract<ServerMessage, { type: 'deploy' }>): void {
    if (this.#inflight.has(msg.deploymentId)) return;
    const done = this.#reports.lastState(msg.deploymentId);
    const base: Base = { type: 'state', deploymentId: msg.deploymentId, patchId: msg.patchId };
    const run = (async () => {
      if (done?.state !== 'applied') this.#reports.state({ ...base, state: 'applying' });
      try {
        const r = await this.#rt.apply(Buffer.from(msg.bundle, 'base64'));
        if (r.state === 'applied' || r.state === 'already-applied') {
          this.#reports.state({ ...base, state: 'applied' });
          if (msg.health) this.#observe(msg.deploymentId, msg.patchId, msg.health.windowMs);
        } else {
          this.#reports.state({
            ...base,
            state: 'pending',
            reason:
              r.reason ?? (r.state === 'staged' ? 'target not loaded yet' : 'a changed function is running'),
          });
          this.#watchPending(base);
        }
      } catch (e) {
        this.#reports.state({ ...base, state: 'failed', error: errorOf(e) });
      }
      this.#reports.facts(true);
    })().finally(() => this.#inflight.delete(msg.deploymentId));
    this.#inflight.set(msg.deploymentId, run);
  }

  revert(msg: Extract<ServerMessage, { type: 'revert' }>): void {
    const observing = this.#observing.get(msg.deploymentId);
    if (observing) {
      clearTimeout(observing);
      this.#observing.delete(msg.deploymentId);
    }
    const base: Base = { type: 'state', deploymentId: msg.deploymentId, patchId: msg.patchId };
    const w = this.#watch.get(msg.deploymentId);
    if (w) {
      clearInterval(w);
      this.#watch.delete(msg.deploymentId);
    }
    try {
      const held = this.#rt.status().patches.some((p) => p.patchId === msg.patchId);
      if (held) this.#rt.revert(msg.patchId);
      this.#reports.state({ ...base, state: 'reverted' });
    } catch (e) {
      this.#reports.state({ ...base, state: 'failed', error: errorOf(e) });
    }
    this.#reports.facts(true);
  }

  /** A pending patch applies when the blocking function returns (the runtime retries); report it then. */
  #watchPending(base: Base): void {
    if (this.#watch.has(base.deploymentId)) return;
    const t = setInterval(() => {
      const p = this.#rt.status().patches.find((x) => x.patchId === base.patchId);
      if (!p || p.state === 'applied') {
        clearInterval(t);
        this.#watch.delete(base.deploymentId);
        if (p) this.#reports.state({ ...base, state: 'applied' });
        this.#reports.facts(true);
      } else if (p.reason && p.reason !== this.#reports.lastState(base.deploymentId)?.reason) {
        this.#reports.state({ ...base, state: 'pending', reason: p.reason });
      }
    }, 250);
    t.unref();
    this.#watch.set(base.deploymentId, t);
  }

  /**
   * The window before the apply against the window after it, sent once the after-window is over.
   * Started once per deployment (a deploy re-sent after a reconnect does not restart it).
   */
  #observe(deploymentId: string, patchId: string, windowMs: number): void {
    if (this.#observing.has(deploymentId) || this.#reports.hasHealth(deploymentId)) return;
    this.#health.retain(windowMs);
    const t0 = this.#health.mark();
    const t = setTimeout(() => {
      this.#observing.delete(deploymentId);
      const t1 = this.#health.mark();
      const m: HealthMessage = {
        type: 'health',
        deploymentId,
        patchId,
        before: this.#health.window(t0 - windowMs, t0),
        after: this.#health.window(t0, t1),
      };
      this.#reports.health(m);
    }, windowMs);
    t.unref();
    this.#observing.set(deploymentId, t);
  }
}

/** A failed apply or revert as the state message carries it. */
function errorOf(e: unknown): { code: string; message: string } {
  return isHotpatchError(e)
    ? { code: e.code, message: e.message }
    : { code: 'E_APPLY', message: (e as Error).message };
}
