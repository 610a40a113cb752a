/**
 * Hotpatch eligibility per device (pure, no I/O), the Windows hotpatch rules mapped onto Node:
 * a Node version an engine supports, the runtime loaded, signature enforcement on, enrolled in a
 * policy that allows hotpatch, and on the current baseline of the target (exact code, by hash).
 * An ineligible device is told what to do instead, usually: deploy the fixed release (restart).
 */
export const SUPPORTED_NODE_MAJORS = { min: 20, max: 26 } as const;

export type IneligibleCode =
  | 'NODE_UNSUPPORTED'
  | 'RUNTIME_NOT_LOADED'
  | 'SIGNATURE_ENFORCEMENT_OFF'
  | 'POLICY_DISALLOWS_HOTPATCH'
  | 'NOT_ON_BASELINE'
  | 'BASELINE_CODE_MISMATCH'
  | 'KEY_NOT_TRUSTED';

export interface IneligibleReason {
  code: IneligibleCode;
  message: string;
}

/** What the device told the server about itself (a subset of the runtime's status()). */
export interface DeviceFacts {
  node: string | null;
  engine: string | null;
  /** Null when no runtime answered (no facts at all). */
  signatureEnforcement: boolean | null;
  packages: ReadonlyArray<{
    name: string;
    version: string;
    files: ReadonlyArray<{ path: string; sha256: string }>;
  }>;
  /** Patch ids the runtime holds (applied, staged or pending). */
  patches?: ReadonlyArray<{ patchId: string; state: string }>;
  /** Ids of the publisher keys the runtime trusts; absent from older runtimes (then not checked). */
  trustedKeys?: readonly string[];
}

export interface HotpatchTarget {
  /** Package (or app) name and the baseline version the hotpatch applies over. */
  name: string;
  baseline: string;
  /** Baseline sha256 of every file the hotpatch changes. */
  files: ReadonlyArray<{ path: string; baselineSha256: string }>;
  /** Release carrying the same fix with a restart, when known. */
  fixedIn: string | null;
  /** Id of the key the bundle is signed with: the runtime must trust it. */
  keyId?: string;
}

export interface PolicyView {
  name: string;
  allowHotpatch: boolean;
}

export type Eligibility =
  | { status: 'eligible' }
  | { status: 'not-applicable'; reason: string }
  | { status: 'ineligible'; reasons: IneligibleReason[]; action: string };

export function nodeMajor(version: string | null): number | null {
  const m = version ? /^v?(\d+)\./.exec(version) : null;
  return m ? Number(m[1]) : null;
}

/** Device-level rules, independent of any hotpatch. */
export function deviceReasons(facts: DeviceFacts | null, policy: PolicyView | null): IneligibleReason[] {
  const reasons: IneligibleReason[] = [];
  if (!facts || facts.signatureEnforcement === null || !facts.engine) {
    reasons.push({
      code: 'RUNTIME_NOT_LOADED',
      message:
        'the hotpatch runtime is not loaded in this process (start it with --import @hotpatch/runtime/register)',
    });
  } else {
    const major = nodeMajor(facts.node);
    if (major === null || major < SUPPORTED_NODE_MAJORS.min || major > SUPPORTED_NODE_MAJORS.max) {
      reasons.push({
        code: 'NODE_UNSUPPORTED',
        message: `Node ${facts.node ?? 'unknown'} is not supported by a hotpatch engine (Node ${SUPPORTED_NODE_MAJORS.min}-${SUPPORTED_NODE_MAJORS.max})`,
      });
    }
    if (!facts.signatureEnforcement) {
      reasons.push({ code: 'SIGNATURE_ENFORCEMENT_OFF', message: 'signature enforcement is off' });
    }
  }
  if (!policy || !policy.allowHotpatch) {
    reasons.push({
      code: 'POLICY_DISALLOWS_HOTPATCH',
      message: policy
        ? `policy ${policy.name} does not allow hotpatch (apply without restart)`
        : 'not enrolled in a policy that allows hotpatch',
    });
  }
  return reasons;
}

/** Eligibility of one device for one hotpatch. */
export function hotpatchEligibility(
  facts: DeviceFacts | null,
  policy: PolicyView | null,
  target: HotpatchTarget,
): Eligibility {
  const loaded = facts?.packages.filter((p) => p.name === target.name) ?? [];
  if (facts && loaded.length === 0)
    return { status: 'not-applicable', reason: `${target.name} is not loaded` };
  const reasons = deviceReasons(facts, policy);
  if (facts) {
    const onBaseline = loaded.find((p) => p.version === target.baseline);
    if (!onBaseline) {
      const versions = loaded.map((p) => p.version).join(', ');
      if (target.fixedIn && loaded.every((p) => p.version === target.fixedIn)) {
        return {
          status: 'not-applicable',
          reason: `${target.name}@${target.fixedIn} already carries the fix`,
        };
      }
      reasons.push({
        code: 'NOT_ON_BASELINE',
        message: `runs ${target.name}@${versions}, the hotpatch applies over ${target.name}@${target.baseline}`,
      });
    } else {
      const byPath = new Map(onBaseline.files.map((f) => [f.path, f.sha256]));
      const differ = target.files.filter(
        (f) => byPath.has(f.path) && byPath.get(f.path) !== f.baselineSha256,
      );
      if (differ.length > 0) {
        reasons.push({
          code: 'BASELINE_CODE_MISMATCH',
          message: `${differ.map((f) => f.path).join(', ')} differ from the baseline's code (modified install?)`,
        });
      }
    }
  }
  // Checked here rather than discovered when the deploy fails: the runtime reports the keys it trusts.
  if (facts?.trustedKeys && target.keyId && !facts.trustedKeys.includes(target.keyId)) {
    reasons.push({
      code: 'KEY_NOT_TRUSTED',
      message: `the runtime does not trust key ${target.keyId} the hotpatch is signed with (add it to HOTPATCH_TRUSTED_KEYS)`,
    });
  }
  if (reasons.length === 0) return { status: 'eligible' };
  return { status: 'ineligible', reasons, action: ineligibleAction(reasons, target) };
}

/** What an ineligible device should do. */
export function ineligibleAction(reasons: readonly IneligibleReason[], target: HotpatchTarget): string {
  const fixed = target.fixedIn
    ? `${target.name}@${target.fixedIn}`
    : `a release of ${target.name} with the fix`;
  const codes = new Set(reasons.map((r) => r.code));
  if (codes.size === 1 && codes.has('POLICY_DISALLOWS_HOTPATCH')) {
    return `deploy ${fixed} (restart), or move the device to a policy that allows hotpatch`;
  }
  if (codes.size === 1 && codes.has('RUNTIME_NOT_LOADED')) {
    return `deploy ${fixed} (restart), and start the service with the hotpatch runtime to receive later hotpatches`;
  }
  return `deploy ${fixed} (restart)`;
}
