/**
 * The API's error table: every code a caller may see, with its HTTP status. The server throws
 * these, the client maps them back into one error class. Dependency-free: the dashboard and the
 * agent's preload bundle it (`@hotpatch/protocol/errors`).
 */
export const API_ERRORS = {
  E_VALIDATION: 400,
  E_REQUEST: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_DEVICE_REVOKED: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_DEVICE_EXISTS: 409,
  E_NOT_HOTPATCH: 422,
  E_BUNDLE_UNSUPPORTED: 422,
  E_INTERNAL: 500,
  /** Client side: the server could not be reached (no HTTP status). */
  E_NETWORK: 0,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** Every refusal's body: {error: {code, message, field?}}. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/**
 * A refused or failed API call: HTTP status (0: unreachable), the table's code (or another code
 * the server sent, e.g. a bundle verification code), its message and the field at fault.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | string;
  readonly field: string | undefined;
  constructor(status: number, code: ApiErrorCode | string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** The error a non-2xx answer stands for (its body when it is an ErrorBody, else the status). */
export function errorOf(status: number, text: string, json: unknown, statusText = ''): ApiError {
  const err = (json as Partial<ErrorBody> | null)?.error;
  return new ApiError(
    status,
    err?.code ?? `HTTP_${status}`,
    err?.message ?? (text.slice(0, 200) || statusText || `HTTP ${status}`),
    err?.field,
  );
}
