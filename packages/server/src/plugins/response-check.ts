/**
 * Response checking (on in the tests, HOTPATCH_CHECK_RESPONSES=1 elsewhere): every JSON answer is
 * validated against its route's response schema as it will be on the wire, before Fastify
 * serialises it. Objects that do not say otherwise are closed here: a field the handler returns
 * but the schema does not declare would be dropped silently by the serialiser, so it fails too.
 * A violation is a 500 naming the route and the field (a server bug, never the caller's).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../errors.js';

/** A copy of schema whose objects with declared properties allow no others unless they say so. */
export function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Under properties/patternProperties the keys are field names, not keywords.
    out[k] =
      k === 'properties' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v as object).map(([f, s]) => [f, closed(s)]))
        : closed(v);
  }
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

function schemaFor(reply: FastifyReply): unknown {
  const response = (reply.request.routeOptions.schema?.response ?? {}) as Record<string, unknown>;
  const code = reply.statusCode;
  return response[code] ?? response[`${String(code)[0]}xx`] ?? response.default;
}

export function installResponseCheck(app: FastifyInstance): void {
  const ajv = new Ajv.default({ allErrors: false, strict: false });
  addFormats.default(ajv);
  const compiled = new WeakMap<object, ValidateFunction>();
  app.addHook('preSerialization', async (req, reply, payload) => {
    const schema = schemaFor(reply);
    if (!schema || typeof schema !== 'object') return payload;
    let check = compiled.get(schema);
    if (!check) {
      check = ajv.compile(closed(JSON.parse(JSON.stringify(schema))) as object);
      compiled.set(schema, check);
    }
    // As the wire will carry it: dates as ISO text, undefined fields gone.
    const wire = JSON.parse(JSON.stringify(payload ?? null));
    if (!check(wire)) {
      const e = check.errors?.[0];
      const extra = (e?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      throw new ApiError(
        500,
        'E_INTERNAL',
        `response to ${req.method} ${req.routeOptions.url} (${reply.statusCode}) does not match its schema: ${e?.instancePath || '(body)'} ${e?.message ?? 'is invalid'}${extra ? ` (${extra})` : ''}`,
        'response',
      );
    }
    return payload;
  });
}
