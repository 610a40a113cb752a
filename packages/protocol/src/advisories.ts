/**
 * Vulnerability awareness contracts shared by the server, the CLI and the dashboard: the OSV
 * record format (https://ossf.github.io/osv-schema/, the format of the GitHub Advisory Database
 * and osv.dev), the device update status (Autopatch-style), and reason codes in words.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DEVICE_STATUS_KINDS } from './words.js';

export * from './words.js';

const OsvEvent = Type.Object({
  introduced: Type.Optional(Type.String({ maxLength: 128 })),
  fixed: Type.Optional(Type.String({ maxLength: 128 })),
  last_affected: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.String({ maxLength: 128 })),
});

/** One OSV record. Unknown fields are kept (stored as given) so that a record round-trips. */
export const OsvRecord = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' }),
  modified: Type.String({ minLength: 1, maxLength: 64 }),
  published: Type.Optional(Type.String({ maxLength: 64 })),
  withdrawn: Type.Optional(Type.String({ maxLength: 64 })),
  aliases: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 })),
  summary: Type.Optional(Type.String({ maxLength: 1024 })),
  details: Type.Optional(Type.String({ maxLength: 65_536 })),
  severity: Type.Optional(
    Type.Array(
      Type.Object({ type: Type.String({ maxLength: 32 }), score: Type.String({ maxLength: 256 }) }),
      {
        maxItems: 8,
      },
    ),
  ),
  affected: Type.Array(
    Type.Object({
      package: Type.Object({
        ecosystem: Type.String({ minLength: 1, maxLength: 64 }),
        name: Type.String({ minLength: 1, maxLength: 214 }),
        purl: Type.Optional(Type.String({ maxLength: 512 })),
      }),
      ranges: Type.Optional(
        Type.Array(
          Type.Object({
            type: Type.String({ minLength: 1, maxLength: 32 }),
            events: Type.Array(OsvEvent, { minItems: 1, maxItems: 256 }),
          }),
          { maxItems: 64 },
        ),
      ),
      versions: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10_000 })),
      database_specific: Type.Optional(Type.Unknown()),
      ecosystem_specific: Type.Optional(Type.Unknown()),
    }),
    { maxItems: 256 },
  ),
  database_specific: Type.Optional(Type.Unknown()),
});
export type OsvRecord = Static<typeof OsvRecord>;

/** POST /v1/advisories: one record, or several (a directory or an export). */
export const AdvisoryImport = Type.Union([
  OsvRecord,
  Type.Object({ advisories: Type.Array(OsvRecord, { minItems: 1, maxItems: 5_000 }) }),
]);
export type AdvisoryImport = Static<typeof AdvisoryImport>;

export const DeviceStatus = Type.Object({
  kind: Type.Union(DEVICE_STATUS_KINDS.map((k) => Type.Literal(k))),
  /** One line for lists: "Not up to date: CVE-2021-44906 — hotpatch available". */
  label: Type.String(),
  /** Advisory ids (CVE first where known) still affecting the device. */
  cves: Type.Array(Type.String()),
  /** What to do, in words (empty when nothing). */
  action: Type.String(),
});
export type DeviceStatus = Static<typeof DeviceStatus>;
