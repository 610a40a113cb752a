/** The catalog API: signed hotpatch bundles (/v1/bundles…) and baselines (/v1/baselines). */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable, OpenObject, Timestamp } from './api-common.js';

export const PublishQuery = Type.Object(
  { advisoryPublishedAt: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);
/** POST /v1/bundles: the signed bundle document (its payload is checked by @hotpatch/core's parser). */
export const PublishBody = Type.Object({ payload: Type.Any() });
export const PatchParams = Type.Object({ patchId: Type.String({ minLength: 1 }) });
export const BaselineBody = Type.Object(
  { target: Type.String({ minLength: 1 }), version: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);
export type BaselineBody = Static<typeof BaselineBody>;

/** A published bundle's metadata (the signed document itself: GET /v1/bundles/:patchId/download). */
export const BundleView = Type.Object({
  patchId: Type.String(),
  version: Type.String(),
  level: Type.Integer(),
  title: Type.String(),
  severity: Type.String(),
  advisories: Type.Array(Type.String()),
  targetName: Type.String(),
  targetBaseline: Type.String(),
  fixedIn: Nullable(Type.String()),
  files: Type.Array(Type.Object({ path: Type.String(), baselineSha256: Type.String() })),
  keyId: Type.String(),
  sha256: Type.String(),
  publishedAt: Timestamp,
  publishedBy: Type.String(),
  advisoryPublishedAt: Nullable(Timestamp),
});
export type BundleView = Static<typeof BundleView>;
export const BundleResponse = Type.Object({ bundle: BundleView });
export const BundleListResponse = Type.Object({ bundles: Type.Array(BundleView) });
/** 201 when stored, 200 when the same bundle was already there (idempotent). */
export const PublishResponse = Type.Object({ bundle: BundleView, created: Type.Boolean() });
export type PublishResponse = Static<typeof PublishResponse>;
/** The signed bundle as published: the core's bundle format (checked by @hotpatch/core's parser). */
export const BundleDocument = OpenObject({ payload: OpenObject({ patchId: Type.String() }) });

export const BaselineView = Type.Object({
  target: Type.String(),
  version: Type.String(),
  current: Type.Boolean(),
  recordedAt: Timestamp,
});
export type BaselineView = Static<typeof BaselineView>;
export const BaselineListResponse = Type.Object({ baselines: Type.Array(BaselineView) });
export const BaselineSetResponse = Type.Object({
  target: Type.String(),
  version: Type.String(),
  current: Type.Boolean(),
});
