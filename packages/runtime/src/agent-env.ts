/**
 * Agent settings from the environment (pure: no I/O). A malformed setting never throws into the
 * host application: it becomes a warning, and either a default or no agent at all.
 */

/** What the agent is started with. */
export interface AgentOptions {
  /** Server base URLs, http(s)://host:port: replicas of one control plane, tried in turn. */
  servers: string[];
  /** Enrollment token (needed only until a credential is stored). */
  enrollToken?: string;
  /** Device labels sent at enrollment (used only where the enrollment token allows them). */
  labels?: Record<string, string>;
  /** Host part of the device identity (default os.hostname()). */
  host?: string;
  /** Where the credential is kept (default <hotpatch home>/agent). */
  stateDir?: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** How often facts are re-sent when they changed. */
  factsIntervalMs?: number;
  /** A connection that hears nothing (no message, no ping) for this long is dropped and retried. */
  idleMs?: number;
  log?: (line: string) => void;
}

const LABEL = /^[A-Za-z0-9._/-]{1,63}$/;

/** `HOTPATCH_SERVER=https://a:4242,https://b:4242`: each must be an http(s) URL. */
export function parseServers(value: string): { servers: string[]; bad: string[] } {
  const servers: string[] = [];
  const bad: string[] = [];
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let u: URL | null = null;
    try {
      u = new URL(part);
    } catch {
      u = null;
    }
    if (u && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname) servers.push(u.origin);
    else bad.push(part);
  }
  return { servers, bad };
}

/** `k=v,k=v`; pairs that are not a label name and a value are skipped. */
export function parseLabels(value: string): { labels: Record<string, string>; bad: string[] } {
  const labels: Record<string, string> = {};
  const bad: string[] = [];
  for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
    const i = pair.indexOf('=');
    const k = i > 0 ? pair.slice(0, i).trim() : '';
    const v = i > 0 ? pair.slice(i + 1).trim() : '';
    if (LABEL.test(k) && v.length <= 200 && !v.includes('\u0000')) labels[k] = v;
    else bad.push(pair);
  }
  return { labels, bad };
}

/**
 * Agent options from HOTPATCH_SERVER (one URL or several, comma-separated), HOTPATCH_ENROLL_TOKEN,
 * HOTPATCH_LABELS (k=v,k=v), HOTPATCH_HOST, HOTPATCH_AGENT_BACKOFF_MAX_MS, HOTPATCH_AGENT_FACTS_MS,
 * HOTPATCH_AGENT_IDLE_MS. Null without a (valid) server. Every problem is one line given to warn.
 */
export function agentOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => {},
): AgentOptions | null {
  if (!env.HOTPATCH_SERVER) return null;
  const { servers, bad } = parseServers(env.HOTPATCH_SERVER);
  if (bad.length > 0 || servers.length === 0) {
    warn(
      `HOTPATCH_SERVER=${JSON.stringify(env.HOTPATCH_SERVER)}: ${bad.length ? `not an http(s) URL: ${bad.join(', ')}` : 'no URL'}; the fleet agent is not started`,
    );
    return null;
  }
  const { labels, bad: badLabels } = parseLabels(env.HOTPATCH_LABELS ?? '');
  if (badLabels.length > 0)
    warn(
      `HOTPATCH_LABELS: ignoring ${badLabels.map((b) => JSON.stringify(b)).join(', ')} (want name=value,...)`,
    );
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (Number.isInteger(n) && n > 0 && n <= 86_400_000) return n;
    warn(`${name}=${JSON.stringify(v)} is not a number of milliseconds; using the default`);
    return undefined;
  };
  const backoffMaxMs = num('HOTPATCH_AGENT_BACKOFF_MAX_MS');
  const factsIntervalMs = num('HOTPATCH_AGENT_FACTS_MS');
  const idleMs = num('HOTPATCH_AGENT_IDLE_MS');
  return {
    servers,
    ...(env.HOTPATCH_ENROLL_TOKEN ? { enrollToken: env.HOTPATCH_ENROLL_TOKEN } : {}),
    labels,
    ...(env.HOTPATCH_HOST ? { host: env.HOTPATCH_HOST } : {}),
    ...(backoffMaxMs !== undefined ? { backoffMaxMs } : {}),
    ...(factsIntervalMs !== undefined ? { factsIntervalMs } : {}),
    ...(idleMs !== undefined ? { idleMs } : {}),
  };
}
