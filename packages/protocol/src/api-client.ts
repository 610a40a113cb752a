/**
 * Typed calls per route on the one client (client.ts): the dashboard, the CLI and the tests call
 * these. Only types come from the schemas, so the browser bundle carries no schema library.
 */

import type { Actor, AuditEntry, TokenView } from './api-admin.js';
import type { BaselineView, BundleView, PublishResponse } from './api-catalog.js';
import type {
  DeploymentCreated,
  DeploymentListItem,
  DeploymentProgress,
  DeploymentView,
  DeploymentWaitResponse,
  RetryResponse,
} from './api-deployments.js';
import type {
  AdvisoryImportResponse,
  AdvisoryView,
  DeviceDetailResponse,
  DeviceListItem,
  DeviceListQuery,
  DeviceListResponse,
  DeviceSummaryResponse,
  ReadinessResponse,
} from './api-devices.js';
import type { PolicyBody, PolicyPatch, PolicyView } from './api-policies.js';
import { type Client, type ClientOptions, createClient } from './client.js';

export type { DeviceListQuery as DeviceQuery };

/** The devices list's query string (empty values left out). */
export const deviceQueryString = (q: DeviceListQuery) =>
  new URLSearchParams(
    Object.entries(q)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();

const enc = encodeURIComponent;

export function apiCalls(c: Client) {
  const get = <T>(p: string) => c.request<T>('GET', p);
  const post = <T>(p: string, b: unknown = {}) => c.request<T>('POST', p, b);
  return {
    client: c,
    me: () => get<{ actor: Actor }>('/v1/me').then((r) => r.actor),
    devices: () => get<{ devices: DeviceListItem[] }>('/v1/devices').then((r) => r.devices),
    devicePage: (q: DeviceListQuery) => get<DeviceListResponse>(`/v1/devices?${deviceQueryString(q)}`),
    /** Live/connected counts and the first devices needing attention, counted by the server. */
    deviceSummary: () => get<DeviceSummaryResponse>('/v1/devices/summary'),
    devicesCsv: (q: DeviceListQuery) => c.text(`/v1/devices.csv?${deviceQueryString(q)}`),
    device: (id: string) => get<DeviceDetailResponse>(`/v1/devices/${enc(id)}`),
    advisories: () => get<{ advisories: AdvisoryView[] }>('/v1/advisories').then((r) => r.advisories),
    importAdvisories: (records: unknown[]) =>
      post<AdvisoryImportResponse>('/v1/advisories', { advisories: records }),
    readiness: (patchId: string, policy?: string) =>
      get<ReadinessResponse>(
        `/v1/bundles/${enc(patchId)}/readiness${policy ? `?policy=${enc(policy)}` : ''}`,
      ),
    bundles: () => get<{ bundles: BundleView[] }>('/v1/bundles').then((r) => r.bundles),
    publish: (bundleJson: string) =>
      c.request<PublishResponse>('POST', '/v1/bundles', undefined, { raw: bundleJson }),
    baselines: () => get<{ baselines: BaselineView[] }>('/v1/baselines').then((r) => r.baselines),
    policies: () => get<{ policies: PolicyView[] }>('/v1/policies').then((r) => r.policies),
    createPolicy: (p: PolicyBody) => post<{ policy: PolicyView }>('/v1/policies', p).then((r) => r.policy),
    updatePolicy: (name: string, p: PolicyPatch) =>
      c.request<{ policy: PolicyView }>('PATCH', `/v1/policies/${enc(name)}`, p).then((r) => r.policy),
    pausePolicy: (name: string, paused: boolean) =>
      post<{ policy: PolicyView }>(`/v1/policies/${enc(name)}/${paused ? 'pause' : 'resume'}`).then(
        (r) => r.policy,
      ),
    deployments: () =>
      get<{ deployments: DeploymentListItem[] }>('/v1/deployments').then((r) => r.deployments),
    deployment: (id: string) => get<DeploymentView>(`/v1/deployments/${enc(id)}`),
    waitDeployment: (id: string, since?: string, timeoutMs = 2000) =>
      get<DeploymentWaitResponse>(
        `/v1/deployments/${enc(id)}/wait${since === undefined ? '' : `?since=${enc(since)}&timeoutMs=${timeoutMs}`}`,
      ),
    deploymentProgress: (id: string, since?: string, timeoutMs = 2000) =>
      get<DeploymentProgress>(
        `/v1/deployments/${enc(id)}/progress${since === undefined ? '' : `?since=${enc(since)}&timeoutMs=${timeoutMs}`}`,
      ),
    deploy: (patchId: string, policy: string, expedite = false) =>
      post<DeploymentCreated>('/v1/deployments', { patchId, policy, expedite }),
    expedite: (id: string) => post<DeploymentView>(`/v1/deployments/${enc(id)}/expedite`),
    revert: (id: string) => post<DeploymentView>(`/v1/deployments/${enc(id)}/revert`),
    retry: (id: string) => post<RetryResponse>(`/v1/deployments/${enc(id)}/retry`),
    tokens: () => get<{ tokens: TokenView[] }>('/v1/tokens').then((r) => r.tokens),
    createEnrollToken: (
      name: string,
      opts: { labels?: Record<string, string>; allowDeviceLabels?: boolean } = {},
    ) => post<{ id: string; name: string; token: string }>('/v1/enroll-tokens', { name, ...opts }),
    audit: (limit = 500) => get<{ entries: AuditEntry[] }>(`/v1/audit?limit=${limit}`).then((r) => r.entries),
  };
}
export type ApiCalls = ReturnType<typeof apiCalls>;

/** A client with the typed calls, for a server and a token. */
export const hotpatchApi = (opts: ClientOptions) => apiCalls(createClient(opts));
