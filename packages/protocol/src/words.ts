/**
 * Status kinds and reason codes in words, shared by the server, the CLI and the dashboard. No
 * schema library here: the dashboard bundles this file (`@hotpatch/protocol/words`).
 */

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
