/**
 * One process of the fleet benchmark's simulator (a process may hold ~20,000 sockets: the file
 * descriptor limit). Settings come as JSON in HOTPATCH_SIM_SHARD; the parent drives it over IPC:
 * `enroll` (or `credentials`) -> `enrolled`, `connect` -> `connected`, then `stats` whenever counts change (at most
 * every 50 ms), `stop` ends it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SimFleet, type SimStats, urlsOf } from './sim-fleet.js';

export interface ShardSettings {
  /** Devices from..to-1 of the fleet. */
  from: number;
  to: number;
  /** The replicas; device i tries them starting at i mod replicas (the fleet is spread evenly). */
  urls: string[];
  files: Array<{ path: string; sha256: string }>;
  localAddresses?: string[];
  applyDelayMs?: number;
}

export type ShardCommand =
  | { cmd: 'enroll'; token: string }
  /** Devices enrolled by an earlier run (fleet-bench --reuse): their credentials, in order. */
  | { cmd: 'credentials'; credentials: string[] }
  | { cmd: 'connect' }
  | { cmd: 'stop' };
export type ShardEvent =
  /** credentials: the shard's devices' credentials, in order. */
  | { ev: 'enrolled'; credentials: string[] }
  | { ev: 'connected' }
  | { ev: 'stats'; stats: SimStats }
  | { ev: 'failed'; error: string };

const settings = JSON.parse(process.env.HOTPATCH_SIM_SHARD ?? '{}') as ShardSettings;
const send = (e: ShardEvent) => process.send?.(e);
const fleet = new SimFleet({
  devices: Array.from({ length: settings.to - settings.from }, (_, k) => {
    const i = settings.from + k;
    return { i, urls: urlsOf(settings.urls, i) };
  }),
  files: settings.files,
  ...(settings.localAddresses ? { localAddresses: settings.localAddresses } : {}),
  ...(settings.applyDelayMs ? { applyDelayMs: settings.applyDelayMs } : {}),
});
// A stalled simulator answers pings late (the server drops what answers none): report its stalls.
const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();
let queued = false;
fleet.onChange(() => {
  if (queued) return;
  queued = true;
  setTimeout(() => {
    queued = false;
    send({ ev: 'stats', stats: { ...fleet.stats(), loopDelayMaxMs: Math.round(delay.max / 1e6) } });
    delay.reset();
  }, 50);
});
const fail = (e: Error) =>
  send({ ev: 'failed', error: `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` });
process.on('disconnect', () => process.exit(0));
process.on('message', (m: ShardCommand) => {
  if (m.cmd === 'enroll')
    fleet.enroll(m.token).then(() => send({ ev: 'enrolled', credentials: fleet.credentials() }), fail);
  else if (m.cmd === 'credentials') {
    fleet.useCredentials(m.credentials);
    send({ ev: 'enrolled', credentials: m.credentials });
  } else if (m.cmd === 'connect') fleet.connect().then(() => send({ ev: 'connected' }), fail);
  else {
    fleet.stop();
    process.exit(0);
  }
});
