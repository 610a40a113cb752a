/**
 * The dashboard's API: the protocol's one typed client (@hotpatch/protocol/api-client) plus the
 * live event stream. Views, report rows and errors come from the protocol; core types from @hotpatch/core.
 */
import type { Change, IneligibleReason, PolicyCalendar, Verdict } from '@hotpatch/core';
import type {
  Actor,
  AdvisoryImportResponse,
  AdvisoryView,
  AuditEntry,
  BaselineView,
  BundleView,
  ComponentView,
  DeploymentDeviceView,
  DeploymentInfo,
  DeploymentListItem,
  DeploymentSummary,
  DeploymentView,
  DeviceListItem,
  DeviceListResponse,
  DeviceStatus,
  DeviceSummaryResponse,
  DeviceView,
  ExposureRow,
  InstanceView,
  LiveEvent,
  PolicyBody,
  PolicyReportRow,
  PolicyView,
  ReadinessResponse,
  ReportResponse,
  RestartsRow,
  Role,
} from '@hotpatch/protocol';
import { apiCalls, type DeviceQuery } from '@hotpatch/protocol/api-client';
import { createClient } from '@hotpatch/protocol/client';

export { deviceQueryString } from '@hotpatch/protocol/api-client';
export { ApiError } from '@hotpatch/protocol/errors';
export type { Change, IneligibleReason, PolicyCalendar, Verdict };
export type { Actor, AuditEntry, DeploymentView, DeviceQuery, LiveEvent, Role };
export type PolicyReport = PolicyReportRow;
export type AdvisoryExposure = ExposureRow;
export type DeviceRestarts = RestartsRow;
export type Labels = Record<string, string>;

/** Views come from the one API definition (packages/protocol). */
export type Component = ComponentView;
export type Device = DeviceView;
/** A device in the list: its notable components only, the rest counted. */
export type DeviceRow = DeviceListItem;
export type {
  AdvisoryImportResponse,
  AdvisoryView,
  DeviceListResponse,
  DeviceStatus,
  DeviceSummaryResponse,
  ReadinessResponse,
};
export type Instance = InstanceView;
export type Policy = PolicyView;
export type Ring = Policy['rings'][number];
export type RollbackRule = Policy['rollback'];
export type PolicyInput = PolicyBody;
export type Bundle = BundleView;
export type Baseline = BaselineView;
export type Summary = DeploymentSummary;
export type Deployment = DeploymentInfo;
export type DeploymentDevice = DeploymentDeviceView;
export type DeploymentListEntry = DeploymentListItem;
/** The signed bundle as published (GET /v1/bundles/:id/download): the builder's change list per file. */
export interface BundleDocument {
  payload: {
    patchId: string;
    files: Array<{ path: string; changes: Change[] }>;
    [k: string]: unknown;
  };
  signature?: { keyId: string; [k: string]: unknown };
}

// The device states' table is the protocol's (a dependency-free subpath, for the browser bundle).
export { DEVICE_STATES, type DeviceState } from '@hotpatch/protocol/states';

/** GET /v1/report: the protocol's, with the calendar as the core computes it. */
export type Report = Omit<ReportResponse, 'calendar'> & { calendar: PolicyCalendar };

export function createApi(token: string, base = '') {
  const c = createClient({ base, token });
  const calls = apiCalls(c);
  const enc = encodeURIComponent;
  return {
    ...calls,
    bundleDocument: (patchId: string) =>
      c.request<BundleDocument>('GET', `/v1/bundles/${enc(patchId)}/download`),
    calendar: (policy: string, count = 12) =>
      c.request<PolicyCalendar & { policy: string }>(
        'GET',
        `/v1/policies/${enc(policy)}/calendar?count=${count}`,
      ),
    report: () => c.request<Report>('GET', '/v1/report'),

    /** Reads the server's event stream (SSE over fetch, so the token stays in a header) and reconnects. */
    subscribe(onEvent: (e: LiveEvent) => void, onStatus: (live: boolean) => void = () => {}): () => void {
      const abort = new AbortController();
      let stopped = false;
      const run = async () => {
        while (!stopped) {
          try {
            const res = await fetch(`${c.base}/v1/events`, {
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
