import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { audit } from '../audit.js';
import type { Ctx } from '../context.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { authenticateDevice } from '../plugins/auth.js';
import { bearer, newId, newToken, parseToken, secretMatches } from '../secrets.js';

const EnrollBody = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253 }),
    service: Type.String({ minLength: 1, maxLength: 200 }),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);

/** Device enrollment (enrollment token -> per-device credential) and the device WebSocket. */
export function enrollPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: Static<typeof EnrollBody> }>(
      '/v1/enroll',
      { schema: { body: EnrollBody } },
      async (req, reply) => {
        const token = bearer(req.headers.authorization);
        const parsed = token ? parseToken(token, 'hpe') : null;
        if (!parsed) throw new UnauthorizedError('missing or invalid enrollment token');
        const { host, service } = req.body;
        const out = await ctx.db.transaction(async (tx) => {
          const et = (
            await tx.query<{ token_hash: string; revoked_at: unknown; labels: unknown; name: string }>(
              'SELECT * FROM enroll_tokens WHERE id = $1',
              [parsed.id],
            )
          )[0];
          if (!et || et.revoked_at || !secretMatches(parsed.secret, et.token_hash))
            throw new UnauthorizedError('invalid or revoked enrollment token');
          const tokenLabels = (typeof et.labels === 'string' ? JSON.parse(et.labels) : et.labels) as Record<
            string,
            string
          >;
          const labels = { ...tokenLabels, ...(req.body.labels ?? {}) };
          const existing = (
            await tx.query<{ id: string; revoked_at: unknown }>(
              'SELECT id, revoked_at FROM devices WHERE host = $1 AND service = $2 FOR UPDATE',
              [host, service],
            )
          )[0];
          if (existing?.revoked_at)
            throw new ForbiddenError(
              `device ${host}/${service} is revoked; delete it to enroll again`,
              'E_DEVICE_REVOKED',
            );
          const deviceId = existing?.id ?? newId('dev_');
          if (!existing) {
            await tx.query('INSERT INTO devices (id, host, service, labels) VALUES ($1, $2, $3, $4)', [
              deviceId,
              host,
              service,
              JSON.stringify(labels),
            ]);
          } else {
            await tx.query('UPDATE devices SET labels = labels || $2 WHERE id = $1', [
              deviceId,
              JSON.stringify(labels),
            ]);
          }
          const cred = newToken('hpd');
          await tx.query('INSERT INTO device_credentials (id, device_id, token_hash) VALUES ($1, $2, $3)', [
            cred.id,
            deviceId,
            cred.hash,
          ]);
          await audit(
            tx,
            `enroll-token ${et.name} (${parsed.id})`,
            existing ? 'device.re-enroll' : 'device.enroll',
            deviceId,
            { host, service, labels },
          );
          return { deviceId, credential: cred.token, created: !existing };
        });
        return reply
          .status(out.created ? 201 : 200)
          .send({ deviceId: out.deviceId, credential: out.credential });
      },
    );

    app.get(
      '/v1/agent',
      {
        websocket: true,
        preValidation: async (req) => {
          (req as unknown as { deviceId: string }).deviceId = await authenticateDevice(
            ctx.db,
            req.headers.authorization,
          );
        },
      },
      (socket, req) => {
        ctx.hub.attach(socket, (req as unknown as { deviceId: string }).deviceId);
      },
    );
  };
}
