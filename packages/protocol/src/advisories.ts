/**
 * Vulnerability awareness contracts shared by the server, the CLI and the dashboard: the OSV
 * record format (https://ossf.github.io/osv-schema/, the format of the GitHub Advisory Database
 * and osv.dev), the device update status (Autopatch-style), and reason codes in words.
 */
import { type Static, Type } from '@sinclair/typebox';

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

/** A device's update status, worst first (the order the devices list sorts by). */
export const DEVICE_STATUS_KINDS = [
  'failed',
  'not-up-to-date',
  'in-progress',
  'paused',
  'not-eligible',
  'hotpatched',
  'up-to-date',
] as const;
export type DeviceStatusKind = (typeof DEVICE_STATUS_KINDS)[number];

export const DEVICE_STATUS_TITLES: Record<DeviceStatusKind, string> = {
  failed: 'Failed',
  'not-up-to-date': 'Not up to date',
  'in-progress': 'In progress',
  paused: 'Paused',
  'not-eligible': 'Not eligible',
  hotpatched: 'Hotpatched',
  'up-to-date': 'Up to date',
};

/** How a known vulnerability on a device can be fixed. */
export const REMEDIES = ['hotpatch available', 'baseline needed'] as const;
export type Remedy = (typeof REMEDIES)[number];

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

/**
 * Reason codes in words: eligibility codes (core) and failure codes reported by runtimes. One
 * table so that the CLI and the dashboard say the same thing.
 */
export const REASON_WORDS: Record<string, string> = {
  NODE_UNSUPPORTED: 'Node version not supported by a hotpatch engine',
  RUNTIME_NOT_LOADED: 'hotpatch runtime not loaded in the process',
  SIGNATURE_ENFORCEMENT_OFF: 'signature enforcement is off',
  POLICY_DISALLOWS_HOTPATCH: 'policy does not allow hotpatch',
  NOT_ON_BASELINE: 'a different version is loaded than the hotpatch applies to',
  BASELINE_CODE_MISMATCH: 'installed code differs from the released baseline',
  KEY_NOT_TRUSTED: "the runtime does not trust the publisher's key",
  E_UNTRUSTED_KEY: "the runtime does not trust the publisher's key",
  E_SIGNATURE_INVALID: 'the bundle signature is invalid',
  E_SIGNATURE_MISSING: 'the bundle is not signed',
  E_BASELINE_MISMATCH: 'installed code differs from the hotpatch baseline',
  E_TARGET_MISMATCH: 'the hotpatch targets another package or version',
  E_NOT_LIVE: 'the change cannot be applied live (restart needed)',
  E_ENGINE: 'the hotpatch engine is unavailable in this process',
  E_APPLY: 'applying the hotpatch failed',
  E_VERIFY: 'the applied hotpatch did not verify',
  E_BUNDLE_CORRUPT: 'the bundle is corrupt',
};

/**
 * "CODE: detail; CODE2: detail" → words ("policy does not allow hotpatch; …"). Unknown codes and
 * free text pass through unchanged, so nothing is ever hidden.
 */
export function reasonInWords(reason: string | null | undefined): string {
  if (!reason) return '';
  return reason
    .split(/;\s*/)
    .map((part) => {
      const m = /^([A-Z][A-Z0-9_]+):\s*(.*)$/s.exec(part);
      if (!m) return part;
      const code = m[1] as string;
      const detail = (m[2] ?? '').trim();
      const words = REASON_WORDS[code];
      if (!words) return part;
      // Eligibility messages are already sentences naming the device's facts: keep them.
      if (!code.startsWith('E_')) return detail || words;
      return detail ? `${words} (${detail.length > 160 ? `${detail.slice(0, 157)}...` : detail})` : words;
    })
    .join('; ');
}
