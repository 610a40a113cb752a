/**
 * Request validation: bodies are checked as sent (no type coercion: `"host": 123` is an error,
 * not "123"); query strings and path parameters are coerced (they are text by nature). No input
 * may hold a NUL character (PostgreSQL cannot store one): refused with 400 before any handler.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../errors.js';

function makeAjv(coerce: boolean) {
  const ajv = new Ajv.default({
    allErrors: false,
    removeAdditional: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
  });
  addFormats.default(ajv);
  return ajv;
}

/** The first path (a.b.0) under value holding a NUL character, or null. */
export function nulPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || '(value)' : null;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return [...path, '(key)'].join('.');
      const p = nulPath(v, [...path, k]);
      if (p !== null) return p;
    }
  }
  return null;
}

export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
  app.addHook('preValidation', async (req) => {
    for (const [part, value] of [
      ['body', req.body],
      ['query', req.query],
      ['params', req.params],
    ] as const) {
      const p = nulPath(value);
      if (p !== null) throw new ValidationError(`${part}.${p}`, `${part}.${p} holds a NUL character`);
    }
  });
}
