/**
 * API errors as named classes with stable codes (the protocol's error table); the error handler
 * turns them into 4xx JSON.
 */
import { type ApiErrorCode, ApiError as ProtocolApiError } from '@hotpatch/protocol/errors';

export type { ApiErrorCode, ErrorBody } from '@hotpatch/protocol/errors';

/** The protocol's error class, with the status where Fastify looks for it. */
export class ApiError extends ProtocolApiError {
  get statusCode(): number {
    return this.status;
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
