/**
 * Errors as named classes with stable codes (the Fastify way). Every error a user can meet
 * carries a one-line message naming what is wrong; the CLI maps `exitCode` to the process exit status.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_BUNDLE_CORRUPT'
  | 'E_BUNDLE_VERSION'
  | 'E_SIGNATURE_MISSING'
  | 'E_SIGNATURE_INVALID'
  | 'E_UNTRUSTED_KEY'
  | 'E_KEY'
  | 'E_SPEC'
  | 'E_REGISTRY'
  | 'E_TARGET_MISMATCH'
  | 'E_NOT_LIVE'
  | 'E_BASELINE_MISMATCH'
  | 'E_ENGINE'
  | 'E_APPLY'
  | 'E_VERIFY'
  | 'E_NOT_FOUND'
  | 'E_PROCESS'
  | 'E_IO';

export class HotpatchError extends Error {
  readonly code: ErrorCode;
  /** Process exit status the CLI uses: 2 for bad input or refusal, 3 for "needs a restart", 1 otherwise. */
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode = 2) {
    super(message);
    this.name = 'HotpatchError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export class BundleError extends HotpatchError {
  constructor(message: string, code: ErrorCode = 'E_BUNDLE_CORRUPT') {
    super(code, message, 2);
    this.name = 'BundleError';
  }
}

export class SignatureError extends HotpatchError {
  constructor(
    code: 'E_SIGNATURE_MISSING' | 'E_SIGNATURE_INVALID' | 'E_UNTRUSTED_KEY' | 'E_KEY',
    message: string,
  ) {
    super(code, message, 2);
    this.name = 'SignatureError';
  }
}

export function isHotpatchError(e: unknown): e is HotpatchError {
  return e instanceof HotpatchError;
}
