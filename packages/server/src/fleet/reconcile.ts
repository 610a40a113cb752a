/**
 * Reconciliation: decides, for connected devices, what each should have (evaluate), writes the
 * decided states and sends deploys and reverts. Requests coalesce into batches (a few queries per
 * batch, not per device); policies, bundle metadata and bodies are cached (bus events clear the
 * policy cache).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/types.js';
import { gateRows, getBundle, getBundleBody, listPolicies, reconcileInputs } from '../store.js';
import { evaluate } from './evaluate.js';
import { ringHold } from './health-gate.js';
import type { BundleMeta, DeploymentDevice, Policy, StoredFacts } from './model.js';
import { rowKey, type Writer } from './writer.js';

/** What reconcile needs of a connection (the hub owns them). */
export interface Channel {
  readonly deviceId: string;
  readonly instanceId: number | null;
  readonly facts: StoredFacts | null;
  /** deploymentId -> what was sent on this connection. */
  readonly sent: Map<string, 'deploy' | 'revert'>;
}

/** The hub's side: its connections and how to reach them. */
export interface Channels {
  of(deviceId: string): Iterable<Channel> | undefined;
  has(deviceId: string): boolean;
  /** Sends a deploy or revert; false when the message was not sent (closed, slow consumer). */
  push(
    c: Channel,
    msg:
      | {
          type: 'deploy';
          deploymentId: string;
          patchId: string;
          bundle: string;
          health?: { windowMs: number };
        }
      | { type: 'revert'; deploymentId: string; patchId: string },
  ): boolean;
  /** The device is revoked or gone: tell its connections and close them. */
  refuse(deviceId: string, why: 'revoked' | 'unknown'): void;
}

export class Reconciler {
  readonly #bundles = new Map<string, BundleMeta | null>();
  readonly #bodies = new Map<string, string>();
  #policies: Promise<Policy[]> | null = null;
  /** Devices waiting to be reconciled, and the loop working through them. */
  readonly #want = new Set<string>();
  #loop: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly channels: Channels,
    private readonly writer: Writer,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Policies (or device placement) changed somewhere. */
  forgetPolicies(): void {
    this.#policies = null;
  }

  request(ids: Iterable<string>): void {
    for (const id of ids) this.#want.add(id);
    if (this.#want.size > 0 && !this.#loop) {
      this.#loop = (async () => {
        // Let requests arriving together (a burst of hellos, a bus event) form one batch.
        await new Promise((r) => setImmediate(r));
        while (this.#want.size > 0) {
          const batch = [...this.#want].slice(0, 2000);
          for (const id of batch) this.#want.delete(id);
          try {
            await this.#batch(batch);
          } catch (e) {
            this.log.error({ err: e }, 'reconcile failed');
          }
        }
      })().finally(() => {
        this.#loop = null;
        if (this.#want.size > 0) this.request([]);
      });
    }
  }

  async close(): Promise<void> {
    this.#want.clear();
    await this.#loop;
  }

  #listPolicies(): Promise<Policy[]> {
    this.#policies ??= listPolicies(this.db).catch((e: Error) => {
      this.#policies = null;
      throw e;
    });
    return this.#policies;
  }

  async #bundle(patchId: string): Promise<BundleMeta | null> {
    if (!this.#bundles.has(patchId)) {
      const b = await getBundle(this.db, patchId);
      // Unknown patch ids (a device's own) are remembered as unknown only briefly: they may be published later.
      if (!b) return null;
      this.#bundles.set(patchId, b);
    }
    return this.#bundles.get(patchId) ?? null;
  }

  async #body(patchId: string): Promise<string | null> {
    let body = this.#bodies.get(patchId);
    if (body === undefined) {
      const text = await getBundleBody(this.db, patchId);
      if (text === null) return null;
      body = Buffer.from(text).toString('base64');
      this.#bodies.set(patchId, body);
    }
    return body;
  }

  async #batch(ids: string[]): Promise<void> {
    const local = ids.filter((id) => this.channels.has(id));
    if (local.length === 0) return;
    const mark = this.writer.rowFlushes;
    const { devices, deployments, rows: dbRows } = await reconcileInputs(this.db, local);
    const byId = new Map(devices.map((d) => [d.id, d]));
    const policies = await this.#listPolicies();
    const rows = new Map<string, DeploymentDevice>(
      dbRows.map((r) => [rowKey(r.deploymentId, r.deviceId), r]),
    );
    // Bundle metadata of every deployment and of every patch the devices hold (supersedence).
    const held = new Set<string>(deployments.map((d) => d.patchId));
    for (const id of local)
      for (const c of this.channels.of(id) ?? []) for (const p of c.facts?.patches ?? []) held.add(p.patchId);
    for (const p of held) await this.#bundle(p);
    const bundleOf = (patchId: string) => this.#bundles.get(patchId) ?? undefined;
    const now = new Date();
    // Health-gated policies: a ring waits for the earlier rings' verdicts (whole rings, all replicas).
    const policyOf = new Map(policies.map((p) => [p.id, p]));
    const gated = deployments.filter((d) => d.state === 'active' && policyOf.get(d.policyId)?.health);
    const gates = await gateRows(
      this.db,
      gated.map((d) => d.id),
    );
    const holdOf = (dep: (typeof deployments)[number]) => {
      const policy = policyOf.get(dep.policyId);
      if (!policy?.health) return undefined;
      const rows = gates.get(dep.id) ?? [];
      return (ring: string | null) =>
        ringHold(policy.health, policy.rings, ring, dep.haltReason ?? null, rows);
    };
    const stale = new Set<string>();
    for (const id of local) {
      const device = byId.get(id);
      if (!device || device.revoked) {
        this.channels.refuse(id, device ? 'revoked' : 'unknown');
        continue;
      }
      for (const conn of this.channels.of(id) ?? []) {
        // A channel whose hello is not yet recorded has no facts: evaluating it would record the
        // device `ineligible` (runtime not loaded). Its hello requests a reconcile of its own.
        if (conn.instanceId === null) continue;
        for (const dep of deployments) {
          const k = rowKey(dep.id, id);
          const dbRow = rows.get(k) ?? null;
          const pendingWrite = this.writer.pending(dep.id, id);
          if (!pendingWrite && this.writer.landedSince(dep.id, id, mark)) {
            stale.add(id); // its row as read may be older than a write that just landed
            continue;
          }
          const row = pendingWrite
            ? {
                state: pendingWrite.state,
                instanceId: pendingWrite.instanceId ?? dbRow?.instanceId ?? null,
                reason: pendingWrite.reason,
              }
            : dbRow;
          const bundle = bundleOf(dep.patchId);
          if (!bundle) continue;
          const ev = evaluate({
            deployment: dep,
            device,
            policies,
            bundle,
            bundleOf,
            facts: conn.facts,
            row,
            instanceId: conn.instanceId,
            alreadySent: conn.sent.get(dep.id) === (dep.state === 'reverted' ? 'revert' : 'deploy'),
            hold: holdOf(dep),
            now,
          });
          if (!ev) continue;
          const d = ev.decision;
          let sent = false;
          if (d.send === 'deploy') {
            const body = await this.#body(dep.patchId);
            if (body === null) continue;
            const gate = policyOf.get(dep.policyId)?.health;
            sent = this.channels.push(conn, {
              type: 'deploy',
              deploymentId: dep.id,
              patchId: dep.patchId,
              bundle: body,
              ...(gate ? { health: { windowMs: gate.windowSeconds * 1000 } } : {}),
            });
            if (!sent) continue;
          } else if (d.send === 'revert') {
            sent = this.channels.push(conn, { type: 'revert', deploymentId: dep.id, patchId: dep.patchId });
          }
          const same =
            !sent &&
            row &&
            row.state === d.state &&
            row.reason === d.reason &&
            (dbRow?.scheduledFor ?? null) === d.scheduledFor &&
            row.instanceId === conn.instanceId;
          if (!same)
            void this.writer.row({
              deploymentId: dep.id,
              deviceId: id,
              patchId: null,
              state: d.state,
              ring: ev.ring?.name ?? null,
              reason: d.reason,
              action: d.action,
              scheduledFor: d.scheduledFor,
              instanceId: conn.instanceId,
              sent,
            });
        }
      }
    }
    this.writer.forgetLandedBefore(mark);
    if (stale.size > 0) this.request(stale);
  }
}
