/** The devices API (GET /v1/devices, /v1/devices/:id) and advisories API views: request and response schemas. */
import { type Static, Type } from '@sinclair/typebox';
import { DEVICE_STATUS_KINDS, DeviceStatus } from './advisories.js';
import { Labels } from './agent.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const DEVICE_SORT_KEYS = ['status', 'name', 'host', 'service', 'policy', 'lastSeen'] as const;
export type DeviceSortKey = (typeof DEVICE_SORT_KEYS)[number];

/** Server-side paging, sorting and filtering. sort: a key, `-key` for descending. status: kinds, comma-separated. */
export const DeviceListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    sort: Type.Optional(
      Type.String({ pattern: `^-?(${DEVICE_SORT_KEYS.join('|')})$`, description: 'key or -key' }),
    ),
    status: Type.Optional(
      Type.String({ pattern: `^(${DEVICE_STATUS_KINDS.join('|')})(,(${DEVICE_STATUS_KINDS.join('|')}))*$` }),
    ),
    q: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type DeviceListQuery = Static<typeof DeviceListQuery>;

export const ComponentView = Type.Object({
  name: Type.String(),
  baseline: Type.String(),
  version: Type.String(),
  /** Advisory ids (CVE first) that still affect this component. */
  vulnerable: Type.Array(Type.String()),
  /** What fixes it: a hotpatch the device may take, or a baseline (restart). */
  remedy: Nullable(Type.String()),
  patches: Type.Array(
    Type.Object({ patchId: Type.String(), version: Type.Optional(Type.String()), state: Type.String() }),
  ),
});
export type ComponentView = Static<typeof ComponentView>;

export const DeviceView = Type.Object({
  id: Type.String(),
  host: Type.String(),
  service: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  policy: Nullable(Type.String()),
  ring: Nullable(Type.String()),
  connected: Type.Boolean(),
  lastSeen: Nullable(Type.String()),
  enrolledAt: Type.String(),
  revoked: Type.Boolean(),
  instance: Type.Union([Type.Object({ pid: Type.Integer(), startedAt: Type.String() }), Type.Null()]),
  node: Nullable(Type.String()),
  engine: Nullable(Type.String()),
  signatureEnforcement: Type.Union([Type.Boolean(), Type.Null()]),
  eligible: Type.Boolean(),
  reasons: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
  status: DeviceStatus,
  /** Vulnerable and hotpatched components first, then the rest by name. */
  components: Type.Array(ComponentView),
});
export type DeviceView = Static<typeof DeviceView>;

/**
 * A device in the list: the view without its full component list (the device page has it), only the
 * components that need attention (vulnerable or hotpatched, vulnerable first) and how many others it loads.
 */
export const DeviceListItem = Type.Composite([
  Type.Omit(DeviceView, ['components']),
  Type.Object({ notable: Type.Array(ComponentView), otherComponents: Type.Integer({ minimum: 0 }) }),
]);
export type DeviceListItem = Static<typeof DeviceListItem>;

export const DeviceListResponse = Type.Object({
  devices: Type.Array(DeviceListItem),
  /** Devices matching the filter (before limit/offset). */
  total: Type.Integer(),
  /** Devices per status over the whole fleet (not only the filtered ones). */
  counts: Type.Record(Type.String(), Type.Integer()),
});
export type DeviceListResponse = Static<typeof DeviceListResponse>;

/** GET /v1/devices/summary: the Overview's device figures, counted in the database. */
export const DeviceSummaryResponse = Type.Object({
  /** Devices not revoked, and of those, connected, not eligible, disconnected. */
  live: Type.Integer(),
  connected: Type.Integer(),
  ineligible: Type.Integer(),
  disconnected: Type.Integer(),
  /** Devices per status over the whole fleet. */
  counts: Type.Record(Type.String(), Type.Integer()),
  /** The first live devices (by host, service) not eligible or disconnected. */
  attention: Type.Array(
    Type.Object({
      id: Type.String(),
      host: Type.String(),
      service: Type.String(),
      connected: Type.Boolean(),
      eligible: Type.Boolean(),
      reasons: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
});
export type DeviceSummaryResponse = Static<typeof DeviceSummaryResponse>;

export const AdvisoryView = Type.Object({
  id: Type.String(),
  /** The ids the advisory is known by, CVE first. */
  ids: Type.Array(Type.String()),
  summary: Type.String(),
  published: Nullable(Type.String()),
  modified: Type.String(),
  withdrawn: Type.Boolean(),
  source: Type.String(),
  packages: Type.Array(Type.String()),
  affected: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      device: Type.String(),
      package: Type.String(),
      version: Type.String(),
      /** "hotpatch available" or "baseline needed". */
      remedy: Type.String(),
      patchId: Nullable(Type.String()),
      fixedIn: Nullable(Type.String()),
    }),
  ),
  /** Catalog hotpatches addressing it. */
  hotpatches: Type.Array(Type.Object({ patchId: Type.String(), target: Type.String() })),
  /** When affected devices have no hotpatch: the command that builds one. */
  buildCommand: Nullable(Type.String()),
});
export type AdvisoryView = Static<typeof AdvisoryView>;

export const AdvisoryListResponse = Type.Object({ advisories: Type.Array(AdvisoryView) });
/** DELETE /v1/advisories/:id — an OSV id (bounded: it is looked up and logged as given). */
export const AdvisoryIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export const AdvisoryImportResponse = Type.Object({
  added: Type.Array(Type.String()),
  updated: Type.Array(Type.String()),
  unchanged: Type.Array(Type.String()),
});
export type AdvisoryImportResponse = Static<typeof AdvisoryImportResponse>;

/** GET /v1/bundles/:patchId/readiness?policy=NAME — "what if" this hotpatch were deployed now. */
export const ReadinessParams = Type.Object({ patchId: Type.String({ minLength: 1, maxLength: 200 }) });
export const ReadinessQuery = Type.Object(
  { policy: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);
export const READINESS = ['eligible', 'ineligible', 'not-applicable'] as const;
export const ReadinessResponse = Type.Object({
  patchId: Type.String(),
  target: Type.String(),
  policy: Nullable(Type.String()),
  counts: Type.Object({
    eligible: Type.Integer(),
    ineligible: Type.Integer(),
    notApplicable: Type.Integer(),
  }),
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      device: Type.String(),
      policy: Nullable(Type.String()),
      ring: Nullable(Type.String()),
      readiness: Type.Union(READINESS.map((r) => Type.Literal(r))),
      /** Why not, in words (empty when eligible). */
      why: Type.String(),
      codes: Type.Array(Type.String()),
      action: Nullable(Type.String()),
    }),
  ),
});
export type ReadinessResponse = Static<typeof ReadinessResponse>;

/** GET /v1/devices/:id: the view, the process instances seen, and the last facts reported. */
export const InstanceView = Type.Object({
  pid: Type.Integer(),
  started_at: Type.String(),
  first_seen: Type.String(),
  last_seen: Type.String(),
  node: Nullable(Type.String()),
});
export type InstanceView = Static<typeof InstanceView>;
export const DeviceDetailResponse = Type.Object({
  device: DeviceView,
  instances: Type.Array(InstanceView),
  facts: Type.Unknown(),
});
export type DeviceDetailResponse = Static<typeof DeviceDetailResponse>;
export const DeviceResponse = Type.Object({ device: DeviceView });

/** PATCH /v1/devices/:id: new labels (replacing all), and the policy by name (null: placed by labels). */
export const DevicePatch = Type.Object(
  {
    labels: Type.Optional(Labels),
    policy: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type DevicePatch = Static<typeof DevicePatch>;
