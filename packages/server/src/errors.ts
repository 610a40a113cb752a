/** API errors as named classes with stable codes; the error handler turns them into 4xx JSON. */
export type ApiErrorCode =
  | 'E_VALIDATION'
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_NOT_FOUND'
  | 'E_CONFLICT'
  | 'E_NOT_HOTPATCH'
  | 'E_BUNDLE_UNSUPPORTED'
  | 'E_DEVICE_REVOKED'
  | 'E_INTERNAL';

export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: ApiErrorCode | string;
  readonly field: string | undefined;
  constructor(statusCode: number, code: ApiErrorCode | string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
  }
}

export class ValidationError extends ApiError {
  constructor(field: string, message: string, code: string = 'E_VALIDATION') {
    super(400, code, message, field);
    this.name = 'ValidationError';
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'missing or invalid token (Authorization: Bearer <token>)') {
    super(401, 'E_UNAUTHORIZED', message, 'authorization');
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string, code: ApiErrorCode = 'E_FORBIDDEN') {
    super(403, code, message);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, field?: string) {
    super(404, 'E_NOT_FOUND', `${what} not found`, field);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, field?: string, code = 'E_CONFLICT') {
    super(409, code, message, field);
    this.name = 'ConflictError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
