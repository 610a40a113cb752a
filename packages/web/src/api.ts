/**
 * The dashboard's one API client: typed calls to the control plane (packages/server) and its live
 * event stream. Report shapes come from the server's own report functions; core types from
 * @hotpatch/core; the rest mirror the route handlers (packages/server/src/routes/*.ts).
 */
import type { Change, IneligibleReason, PolicyCalendar, Verdict } from '@hotpatch/core';
import type {
  AdvisoryImportResponse,
  AdvisoryView,
  ComponentView,
  DeviceListResponse,
  DeviceStatus,
  DeviceSummaryResponse,
  DeviceView,
  ReadinessResponse,
} from '@hotpatch/protocol';
import type { DeviceState } from '@hotpatch/protocol/states';
import type { exposureReport, hotpatchReport, restartsReport } from '@hotpatch/server';

export type { Change, IneligibleReason, PolicyCalendar, Verdict };
export type Role = 'admin' | 'operator' | 'viewer';
export type PolicyReport = ReturnType<typeof hotpatchReport>[number];
export type AdvisoryExposure = ReturnType<typeof exposureReport>[number];
export type DeviceRestarts = ReturnType<typeof restartsReport>[number];

export interface Actor {
  tokenId: string;
  name: string;
  role: Role;
}
export type Labels = Record<string, string>;

/** Device views come from the one API definition (packages/protocol). */
export type Component = ComponentView;
export type Device = DeviceView;
export type { AdvisoryView, DeviceListResponse, DeviceStatus, DeviceSummaryResponse, ReadinessResponse };
export interface DeviceQuery {
  limit?: number;
  offset?: number;
  sort?: string;
  status?: string;
  q?: string;
}
export const deviceQueryString = (q: DeviceQuery) =>
  new URLSearchParams(
    Object.entries(q)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => [k, String(v)]),
  ).toString();
export interface Instance {
  pid: number;
  started_at: string;
  first_seen: string;
  last_seen: string;
  node: string | null;
}

export interface Ring {
  name: string;
  selector: Labels;
  deferralDays: number;
}
export interface RollbackRule {
  maxFailures?: number;
  maxErrors?: number;
}
export interface Policy {
  name: string;
  allowHotpatch: boolean;
  rings: Ring[];
  deadlineDays: number;
  paused: boolean;
  rollback: RollbackRule;
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}
export interface PolicyInput {
  name: string;
  allowHotpatch: boolean;
  rings: Ring[];
  deadlineDays?: number;
  rollback?: RollbackRule;
  isDefault?: boolean;
}

export interface Bundle {
  patchId: string;
  version: string;
  level: number;
  title: string;
  severity: string;
  advisories: string[];
  targetName: string;
  targetBaseline: string;
  fixedIn: string | null;
  files: Array<{ path: string; baselineSha256: string }>;
  keyId: string;
  sha256: string;
  publishedAt: string;
  publishedBy: string;
  advisoryPublishedAt: string | null;
}
/** The signed bundle as published (GET /v1/bundles/:id/download): the builder's change list per file. */
export interface BundleDocument {
  payload: {
    patchId: string;
    files: Array<{ path: string; changes: Change[] }>;
    [k: string]: unknown;
  };
  signature?: { keyId: string; [k: string]: unknown };
}
export interface Baseline {
  target: string;
  version: string;
  current: boolean;
  recordedAt: string;
}

// The device states' table is the protocol's (a dependency-free subpath, for the browser bundle).
export { DEVICE_STATES, type DeviceState } from '@hotpatch/protocol/states';
export interface Summary {
  total: number;
  counts: Record<DeviceState, number>;
  settled: boolean;
}
export interface Deployment {
  id: string;
  patchId: string;
  policy: string | null;
  paused: boolean;
  state: 'active' | 'reverted';
  expedite: boolean;
  createdAt: string;
  createdBy: string;
  revertedAt: string | null;
  revertReason: string | null;
  /** The patch's title and advisories, for lists. */
  title: string | null;
  advisories: string[];
  /** in progress until every device settled, then completed (nothing to expedite). */
  phase: 'in-progress' | 'completed' | 'reverted';
}
export interface DeploymentDevice {
  deviceId: string;
  device: string;
  state: DeviceState;
  ring: string | null;
  reason: string | null;
  action: string | null;
  scheduledFor: string | null;
  instanceId: number | null;
  errors: number;
  appliedAt: string | null;
  updatedAt: string;
}
export interface DeploymentView {
  deployment: Deployment;
  summary: Summary;
  devices: DeploymentDevice[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}
export interface Report {
  generatedAt: string;
  policies: PolicyReport[];
  advisories: AdvisoryExposure[];
  restarts: DeviceRestarts[];
  calendar: PolicyCalendar;
}

/** A refused call: HTTP status plus the server's {error: {code, message, field?}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Bus events pushed by GET /v1/events (see packages/server/src/routes/events.ts). */
export type LiveEvent =
  | { kind: 'hello'; actor: Actor }
  | { kind: 'deployment'; id: string }
  | { kind: 'policy'; id: string }
  | { kind: 'device'; id: string }
  | { kind: 'state'; deploymentId: string };

export function createApi(token: string, base = '') {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new ApiError(0, 'E_NETWORK', `cannot reach the server: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      throw new ApiError(
        res.status,
        err?.code ?? `HTTP_${res.status}`,
        err?.message ?? res.statusText,
        err?.field,
      );
    }
    return json as T;
  };
  const get = <T>(p: string) => call<T>('GET', p);
  const post = <T>(p: string, b: unknown = {}) => call<T>('POST', p, b);
  const enc = encodeURIComponent;
  return {
    me: () => get<{ actor: Actor }>('/v1/me').then((r) => r.actor),
    devices: () => get<{ devices: Device[] }>('/v1/devices').then((r) => r.devices),
    /** Live/connected counts and the first devices needing attention, counted by the server. */
    deviceSummary: () => get<DeviceSummaryResponse>('/v1/devices/summary'),
    devicePage: (q: DeviceQuery) => get<DeviceListResponse>(`/v1/devices?${deviceQueryString(q)}`),
    /** CSV of the same query, fetched with the token (a plain link would not carry it). */
    devicesCsv: (q: DeviceQuery) =>
      fetch(`${base}/v1/devices.csv?${deviceQueryString(q)}`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => {
        if (!r.ok) throw new ApiError(r.status, `HTTP_${r.status}`, r.statusText);
        return r.text();
      }),
    advisories: () => get<{ advisories: AdvisoryView[] }>('/v1/advisories').then((r) => r.advisories),
    importAdvisories: (records: unknown[]) =>
      post<AdvisoryImportResponse>('/v1/advisories', { advisories: records }),
    readiness: (patchId: string, policy?: string) =>
      get<ReadinessResponse>(
        `/v1/bundles/${enc(patchId)}/readiness${policy ? `?policy=${enc(policy)}` : ''}`,
      ),
    device: (id: string) =>
      get<{ device: Device; instances: Instance[]; facts: unknown }>(`/v1/devices/${enc(id)}`),
    bundles: () => get<{ bundles: Bundle[] }>('/v1/bundles').then((r) => r.bundles),
    bundleDocument: (patchId: string) => get<BundleDocument>(`/v1/bundles/${enc(patchId)}/download`),
    baselines: () => get<{ baselines: Baseline[] }>('/v1/baselines').then((r) => r.baselines),
    policies: () => get<{ policies: Policy[] }>('/v1/policies').then((r) => r.policies),
    calendar: (policy: string, count = 12) =>
      get<PolicyCalendar & { policy: string }>(`/v1/policies/${enc(policy)}/calendar?count=${count}`),
    createPolicy: (p: PolicyInput) => post<{ policy: Policy }>('/v1/policies', p).then((r) => r.policy),
    updatePolicy: (name: string, p: Omit<PolicyInput, 'name'>) =>
      call<{ policy: Policy }>('PATCH', `/v1/policies/${enc(name)}`, p).then((r) => r.policy),
    pausePolicy: (name: string, paused: boolean) =>
      post<{ policy: Policy }>(`/v1/policies/${enc(name)}/${paused ? 'pause' : 'resume'}`).then(
        (r) => r.policy,
      ),
    deployments: () =>
      get<{ deployments: Array<Deployment & { summary: Summary }> }>('/v1/deployments').then(
        (r) => r.deployments,
      ),
    deployment: (id: string) => get<DeploymentView>(`/v1/deployments/${enc(id)}`),
    deploy: (patchId: string, policy: string, expedite = false) =>
      post<DeploymentView & { created: boolean }>('/v1/deployments', { patchId, policy, expedite }),
    expedite: (id: string) => post<DeploymentView>(`/v1/deployments/${enc(id)}/expedite`),
    revert: (id: string) => post<DeploymentView>(`/v1/deployments/${enc(id)}/revert`),
    retry: (id: string) =>
      post<{ deploymentId: string; retried: string[] }>(`/v1/deployments/${enc(id)}/retry`),
    report: () => get<Report>('/v1/report'),
    audit: (limit = 500) => get<{ entries: AuditEntry[] }>(`/v1/audit?limit=${limit}`).then((r) => r.entries),

    /** Reads the server's event stream (SSE over fetch, so the token stays in a header) and reconnects. */
    subscribe(onEvent: (e: LiveEvent) => void, onStatus: (live: boolean) => void = () => {}): () => void {
      const abort = new AbortController();
      let stopped = false;
      const run = async () => {
        while (!stopped) {
          try {
            const res = await fetch(`${base}/v1/events`, {
              headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
              signal: abort.signal,
            });
            if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
            onStatus(true);
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            let buf = '';
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buf += value;
              let i = buf.indexOf('\n\n');
              while (i >= 0) {
                const frame = buf.slice(0, i);
                buf = buf.slice(i + 2);
                const data = frame
                  .split('\n')
                  .filter((l) => l.startsWith('data: '))
                  .map((l) => l.slice(6))
                  .join('\n');
                const event = /^event: (.*)$/m.exec(frame)?.[1];
                if (data && event) {
                  try {
                    onEvent({ ...(JSON.parse(data) as object), kind: event } as LiveEvent);
                  } catch {
                    // ignore a malformed frame
                  }
                }
                i = buf.indexOf('\n\n');
              }
            }
          } catch {
            // fall through to reconnect
          }
          onStatus(false);
          if (!stopped) await new Promise((r) => setTimeout(r, 2000));
        }
      };
      void run();
      return () => {
        stopped = true;
        abort.abort();
      };
    },
  };
}
export type Api = ReturnType<typeof createApi>;
