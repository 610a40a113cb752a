import { CREDENTIAL_HEADER, EnrollRequest, EnrollResponse } from '@hotpatch/protocol';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Ctx } from '../context.js';
import type { Sql } from '../db/types.js';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Labels } from '../fleet/model.js';
import { authenticateDevice } from '../plugins/auth.js';
import { bearer, newId, newToken, parseToken, secretMatches } from '../secrets.js';
import { audit } from '../store/audit.js';
import {
  dropCredentials,
  getEnrollToken,
  insertCredential,
  insertDevice,
  lockDeviceIdentity,
} from '../store.js';
import { routes } from './route.js';

/**
 * The labels a device gets: the enrollment token's always win; the device's own are added only
 * when the token allows it (rings and policies select on labels, so a device must not pick its own).
 */
export function enrollLabels(
  token: Labels,
  allowDeviceLabels: boolean,
  device: Labels,
): { labels: Labels; ignored: Labels } {
  if (!allowDeviceLabels) return { labels: { ...token }, ignored: { ...device } };
  const ignored = Object.fromEntries(Object.entries(device).filter(([k]) => k in token));
  return { labels: { ...device, ...token }, ignored };
}

type EnrollToken = Awaited<ReturnType<typeof enrollToken>>;

/** The enrollment token in an Authorization header, if it is one, valid and not revoked. */
async function enrollToken(db: Sql, header: string | undefined) {
  const token = bearer(header);
  const parsed = token ? parseToken(token, 'hpe') : null;
  if (!parsed) throw new UnauthorizedError('missing or invalid enrollment token');
  const et = await getEnrollToken(db, parsed.id);
  if (!et || et.revoked_at || !secretMatches(parsed.secret, et.token_hash))
    throw new UnauthorizedError('invalid or revoked enrollment token');
  return { id: parsed.id, ...et };
}

/**
 * Enrolls host/service, or rotates its credential when the device presents its current one
 * (`presented`); returns the new credential and whether the identity is new.
 */
async function enrollDevice(
  tx: Sql,
  et: EnrollToken,
  body: EnrollRequest,
  presented: string | string[] | undefined,
): Promise<{ deviceId: string; credential: string; created: boolean }> {
  const { host, service } = body;
  const tokenLabels = (typeof et.labels === 'string' ? JSON.parse(et.labels) : et.labels) as Labels;
  const { labels, ignored } = enrollLabels(tokenLabels, et.allow_device_labels, body.labels ?? {});
  const existing = await lockDeviceIdentity(tx, host, service);
  if (existing?.revoked_at)
    throw new ForbiddenError(
      `device ${host}/${service} is revoked; an admin must delete it before it can enroll again`,
      'E_DEVICE_REVOKED',
    );
  if (existing) {
    // Only the device itself may re-enroll (rotate) an existing identity.
    const owner =
      typeof presented === 'string'
        ? await authenticateDevice(tx, `Bearer ${presented}`).catch(() => null)
        : null;
    if (owner !== existing.id)
      throw new ConflictError(
        `device ${host}/${service} is already enrolled; re-enrolling needs its current credential (${CREDENTIAL_HEADER}) or an admin deleting it first`,
        'host',
        'E_DEVICE_EXISTS',
      );
    await dropCredentials(tx, existing.id);
  }
  const deviceId = existing?.id ?? newId('dev_');
  if (!existing) await insertDevice(tx, { id: deviceId, host, service, labels });
  const cred = newToken('hpd');
  await insertCredential(tx, { id: cred.id, deviceId, hash: cred.hash });
  await audit(
    tx,
    `enroll-token ${et.name} (${et.id})`,
    existing ? 'device.credential-rotate' : 'device.enroll',
    deviceId,
    { host, service, labels, ...(Object.keys(ignored).length > 0 ? { ignoredLabels: ignored } : {}) },
  );
  return { deviceId, credential: cred.token, created: !existing };
}

/**
 * Device enrollment (enrollment token -> per-device credential) and the device WebSocket.
 *
 * Identity is host + service. A new identity is enrolled with the enrollment token alone; an
 * existing one only by the device itself (its current credential in the x-hotpatch-credential
 * header: the credential is rotated) or after an admin deleted it. A revoked device is refused.
 */
export function enrollPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    // What each request's guard found: the enrollment token, the device behind a credential.
    const tokens = new WeakMap<FastifyRequest, EnrollToken>();
    const devices = new WeakMap<FastifyRequest, string>();

    r.post(
      '/v1/enroll',
      // Authenticated before the body is read.
      async (req) => {
        tokens.set(req, await enrollToken(ctx.db, req.headers.authorization));
      },
      { body: EnrollRequest, response: { 200: EnrollResponse, 201: EnrollResponse } },
      async (req, reply) => {
        const et = tokens.get(req)!;
        const presented = req.headers[CREDENTIAL_HEADER];
        const out = await ctx.db.transaction((tx) => enrollDevice(tx, et, req.body, presented));
        return reply
          .status(out.created ? 201 : 200)
          .send({ deviceId: out.deviceId, credential: out.credential });
      },
    );

    r.socket(
      '/v1/agent',
      async (req) => {
        devices.set(req, await authenticateDevice(ctx.db, req.headers.authorization, true));
      },
      (socket, req) => ctx.hub.attach(socket, devices.get(req)!),
    );
  };
}
