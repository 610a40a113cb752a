/**
 * Simulated devices that behave like the runtime's agent towards the control plane, many per
 * process: HTTP enrollment, one WebSocket each, `hello` with the facts of a runtime that has
 * minimist 1.2.5 loaded, and on `deploy` the replies a runtime sends (`applying`, `applied`, new
 * facts). Like the agent (packages/runtime/src/agent.ts) a device is given every replica's URL,
 * connects to its first, and when the channel drops moves to the next URL at once while one is
 * untried, then backs off (exponential, full jitter); after the welcome it re-sends the latest
 * state of each deployment. Used by the fleet benchmark (one shard per process) and by tests.
 */
import WebSocket from 'ws';

export interface SimDeviceSpec {
  /** Index in the whole fleet (host name sim-<i>, pid 10000+i). */
  i: number;
  /** The replicas, in the order this device tries them. */
  urls: string[];
}

export interface SimFleetOptions {
  devices: SimDeviceSpec[];
  /** Baseline files of minimist 1.2.5 (path, sha256), as the runtime reports them. */
  files: Array<{ path: string; sha256: string }>;
  /**
   * Local (loopback) addresses the sockets bind to, device i to the (i mod length)-th. A socket
   * bound before connecting takes a port of its address for itself, and the kernel looks for a
   * free one synchronously, in the process's event loop: with ~10,000 sockets on one address each
   * reconnect of a storm stalled the simulator for milliseconds, long enough in all for the server
   * to drop every device whose pong came late. A few hundred addresses keep each one nearly empty.
   */
  localAddresses?: string[];
  /** A real apply takes some of the process's own time: answer after a random delay in [0, applyDelayMs]. */
  applyDelayMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface SimStats {
  devices: number;
  /** Devices that have applied the patch (answered its deploy) at least once. */
  applied: number;
  /** Devices whose channel dropped and that then said hello on another replica. */
  failedOver: number;
  /** Deploy messages received (a device may be sent one again after a failover). */
  deploys: number;
  /** Devices connected (welcomed) now. */
  connected: number;
  /** Close codes of channels that dropped after the welcome (1006: the peer vanished), with counts. */
  drops: Record<string, number>;
  /**
   * Channels that dropped after the welcome, by how long before the drop the device last received a
   * ping (`<30s`, `>=30s`, `never`): tells a server that stopped pinging (or whose pings were not
   * read) from one that dropped a device that had just answered.
   */
  dropsByPingAge: Record<string, number>;
  /** The simulator process's longest event-loop stall since its previous report (set by the shard). */
  loopDelayMaxMs?: number;
}

interface Device {
  spec: SimDeviceSpec;
  credential: string;
  which: number;
  attempt: number;
  ws: WebSocket | null;
  welcomed: boolean;
  dropped: boolean;
  failedOver: boolean;
  /** performance.now() of the last ping received on the current channel (0: none yet). */
  lastPing: number;
  applied: string | null;
  /** Latest state per deployment, re-sent after every (re)connect like the agent's. */
  states: Map<string, Record<string, unknown>>;
}

/** The agent's backoff: a random delay in [base/2, base], base = min(max, initial * 2^attempt). */
const backoff = (attempt: number, initial: number, max: number) => {
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (Math.random() * base) / 2);
};

export class SimFleet {
  readonly #opts: Required<Omit<SimFleetOptions, 'localAddresses'>> & { localAddresses?: string[] };
  readonly #devices: Device[];
  readonly #startedAt = new Date().toISOString();
  #stopped = false;
  #deploys = 0;
  readonly #drops: Record<string, number> = {};
  readonly #dropsByPingAge: Record<string, number> = {};
  #onChange: () => void = () => {};

  constructor(opts: SimFleetOptions) {
    this.#opts = { applyDelayMs: 0, backoffInitialMs: 500, backoffMaxMs: 30_000, ...opts };
    this.#devices = opts.devices.map((spec) => ({
      spec,
      credential: '',
      which: 0,
      attempt: 0,
      ws: null,
      welcomed: false,
      dropped: false,
      failedOver: false,
      lastPing: 0,
      applied: null,
      states: new Map(),
    }));
  }

  /** Called (often) whenever a count in stats() may have changed. */
  onChange(fn: () => void): void {
    this.#onChange = fn;
  }

  stats(): SimStats {
    let applied = 0;
    let failedOver = 0;
    let connected = 0;
    for (const d of this.#devices) {
      if (d.applied) applied++;
      if (d.failedOver) failedOver++;
      if (d.welcomed) connected++;
    }
    return {
      devices: this.#devices.length,
      applied,
      failedOver,
      deploys: this.#deploys,
      connected,
      drops: { ...this.#drops },
      dropsByPingAge: { ...this.#dropsByPingAge },
    };
  }

  /** Per device: whether it has applied the patch and whether it failed over (for tests). */
  snapshot(): Array<{ i: number; firstUrl: string; applied: boolean; failedOver: boolean }> {
    return this.#devices.map((d) => ({
      i: d.spec.i,
      firstUrl: d.spec.urls[0] as string,
      applied: d.applied !== null,
      failedOver: d.failedOver,
    }));
  }

  /** The devices' credentials, in order (kept by `fleet-bench --reuse` for the next run). */
  credentials(): string[] {
    return this.#devices.map((d) => d.credential);
  }

  /** Devices enrolled by an earlier run: their credentials, in order, instead of enroll(). */
  useCredentials(credentials: readonly string[]): void {
    if (credentials.length !== this.#devices.length)
      throw new Error(`${credentials.length} credentials for ${this.#devices.length} devices`);
    this.#devices.forEach((d, k) => {
      d.credential = credentials[k] as string;
    });
  }

  /** Enrolls every device with its first URL, `width` requests in flight. */
  async enroll(token: string, width = 64): Promise<void> {
    await pool(this.#devices, width, async (d) => {
      // Like the agent, a refused or dropped request (a loaded server) is tried again after a backoff.
      for (let attempt = 0; ; attempt++) {
        try {
          d.credential = await this.#enrollOne(d, token);
          return;
        } catch (e) {
          if (this.#stopped || attempt >= 8 || !(e instanceof TypeError)) throw e;
          await new Promise((r) => setTimeout(r, backoff(attempt, this.#opts.backoffInitialMs, 5000)));
        }
      }
    });
  }

  /** One enrollment; a network failure is fetch's TypeError, an answer without a credential an Error. */
  async #enrollOne(d: Device, token: string): Promise<string> {
    const r = await fetch(`${d.spec.urls[0]}/v1/enroll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: `sim-${d.spec.i}`, service: 'bench' }),
    });
    const j = (await r.json()) as { credential?: string; error?: { message?: string } };
    if (!j.credential) throw new Error(`enroll sim-${d.spec.i}: HTTP ${r.status} ${j.error?.message ?? ''}`);
    return j.credential;
  }

  /** Connects every device (hello -> welcome), `width` in flight; resolves when all are welcomed. */
  async connect(width = 256): Promise<void> {
    await pool(this.#devices, width, async (d) => {
      // A refused or timed-out first attempt goes on as the agent would (next URL, then backoff).
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#open(d);
        } catch (e) {
          if (this.#stopped || attempt >= 8) throw e;
          d.which = (d.which + 1) % d.spec.urls.length;
          await new Promise((r) => setTimeout(r, backoff(attempt, this.#opts.backoffInitialMs, 5000)));
        }
      }
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const d of this.#devices) d.ws?.terminate();
  }

  #facts(d: Device): Record<string, unknown> {
    return {
      pid: 10_000 + d.spec.i,
      service: 'bench',
      node: 'v22.12.0',
      engine: 'liveedit',
      signatureEnforcement: true,
      startedAt: this.#startedAt,
      patches: d.applied
        ? [
            {
              patchId: d.applied,
              version: '1.2.5+hp.1',
              target: 'minimist@1.2.5',
              state: 'applied',
              appliedAt: null,
              reason: null,
            },
          ]
        : [],
      packages: [{ name: 'minimist', version: '1.2.5', files: this.#opts.files }],
    };
  }

  /** One connection attempt; resolves at the welcome, rejects when it fails before that. */
  #open(d: Device): Promise<void> {
    const url = d.spec.urls[d.which] as string;
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/agent`, {
      headers: { authorization: `Bearer ${d.credential}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      ...(this.#opts.localAddresses?.length
        ? { localAddress: this.#opts.localAddresses[d.spec.i % this.#opts.localAddresses.length] }
        : {}),
    });
    d.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      ws.on('error', (e) => {
        if (!welcomed) reject(e);
      });
      ws.on('close', (code) => {
        if (!welcomed) reject(new Error('closed before the welcome'));
        else if (!this.#stopped) {
          this.#drops[code] = (this.#drops[code] ?? 0) + 1;
          const age = d.lastPing === 0 ? 'never' : performance.now() - d.lastPing < 30_000 ? '<30s' : '>=30s';
          this.#dropsByPingAge[age] = (this.#dropsByPingAge[age] ?? 0) + 1;
        }
        const was = d.welcomed;
        d.welcomed = false;
        if (d.ws === ws) d.ws = null;
        if (welcomed && was) {
          d.dropped = true;
          this.#retry(d);
        }
        this.#onChange();
      });
      ws.on('ping', () => {
        d.lastPing = performance.now();
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, facts: this.#facts(d) })));
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; deploymentId?: string; patchId?: string };
        if (m.type === 'welcome') {
          welcomed = true;
          d.lastPing = 0;
          d.welcomed = true;
          d.attempt = 0;
          if (d.dropped) d.failedOver = true;
          for (const s of d.states.values()) ws.send(JSON.stringify(s));
          this.#onChange();
          resolve();
        } else if (m.type === 'deploy') this.#deploy(d, m.deploymentId as string, m.patchId as string);
      });
    });
  }

  #deploy(d: Device, deploymentId: string, patchId: string): void {
    this.#deploys++;
    const report = (state: string) => {
      const s = { type: 'state', deploymentId, patchId, state };
      d.states.set(deploymentId, s);
      if (d.ws?.readyState === WebSocket.OPEN && d.welcomed) d.ws.send(JSON.stringify(s));
    };
    report('applying');
    const apply = () => {
      // The patch is now applied in the "process", whatever happens to the channel.
      d.applied = patchId;
      report('applied');
      if (d.ws?.readyState === WebSocket.OPEN && d.welcomed)
        d.ws.send(JSON.stringify({ type: 'facts', facts: this.#facts(d) }));
      this.#onChange();
    };
    if (this.#opts.applyDelayMs > 0) setTimeout(apply, Math.random() * this.#opts.applyDelayMs);
    else apply();
  }

  /** The agent's rule: the next replica at once while one is untried, then backoff. */
  #retry(d: Device): void {
    if (this.#stopped) return;
    const n = d.spec.urls.length;
    d.which = (d.which + 1) % n;
    const ms =
      d.attempt % n !== n - 1
        ? 0
        : backoff(Math.floor(d.attempt / n), this.#opts.backoffInitialMs, this.#opts.backoffMaxMs);
    d.attempt++;
    setTimeout(() => {
      if (this.#stopped) return;
      this.#open(d).catch(() => this.#retry(d));
    }, ms);
  }
}

/**
 * Device i's URL order, as an evenly spread fleet's settings would be: its first replica is i mod R,
 * and the devices of one replica name the others in rotated orders, so that when it dies its
 * devices fail over evenly to the survivors (not all to the next one in the list).
 */
export const urlsOf = (urls: string[], i: number): string[] => {
  const n = urls.length;
  const first = i % n;
  const others = [...urls.slice(first + 1), ...urls.slice(0, first)];
  const k = n > 1 ? Math.floor(i / n) % (n - 1) : 0;
  return [urls[first] as string, ...others.slice(k), ...others.slice(0, k)];
};

export async function pool<T>(
  items: readonly T[],
  width: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}
