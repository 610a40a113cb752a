import { isHotpatchError } from '@hotpatch/core';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, type ErrorBody } from '../errors.js';

function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const ctx = err.validationContext ?? 'body';
  const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing =
    (v.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ??
    (v.params as { additionalProperty?: string }).additionalProperty;
  return [ctx, path, missing].filter(Boolean).join('.');
}

/** Every error leaves as JSON {error: {code, message, field?}}; 4xx for the caller's mistakes. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status = 500;
    let body: ErrorBody;
    if (err instanceof ApiError) {
      status = err.statusCode;
      body = { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
    } else if ('validation' in err && err.validation) {
      status = 400;
      const field = fieldOf(err);
      const v = err.validation[0];
      body = {
        error: {
          code: 'E_VALIDATION',
          message: `${field ?? 'request'} ${v?.message ?? 'is invalid'}`,
          ...(field ? { field } : {}),
        },
      };
    } else if (isHotpatchError(err)) {
      status = err.code === 'E_UNTRUSTED_KEY' || err.code.startsWith('E_SIGNATURE') ? 422 : 400;
      body = { error: { code: err.code, message: err.message, field: 'bundle' } };
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode < 500) {
      status = err.statusCode;
      body = {
        error: {
          code: err.code ?? 'E_REQUEST',
          message: err.message,
          ...(err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? { field: 'body' }
            : {}),
        },
      };
    } else {
      req.log.error({ err }, 'internal error');
      body = { error: { code: 'E_INTERNAL', message: 'internal error' } };
    }
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${req.url}` },
    } satisfies ErrorBody);
  });
}
