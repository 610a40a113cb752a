import {
  isSecurityHotpatch,
  KEY_SCHEME,
  parseBundle,
  serializeBundle,
  sha256,
  targetLabel,
  verifyBundle,
} from '@hotpatch/core';
import { CONVENTION_VERSION } from '@hotpatch/instrument';
import {
  BaselineBody,
  BaselineListResponse,
  BaselineSetResponse,
  BundleDocument,
  BundleListResponse,
  BundleResponse,
  PatchParams,
  PublishBody,
  PublishQuery,
  PublishResponse,
} from '@hotpatch/protocol';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { actorName, type Ctx } from '../context.js';
import { ApiError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { audit } from '../store/audit.js';
import { markPackagesStale } from '../store/status-columns.js';
import {
  bundleDigest,
  getBundle,
  getBundleBody,
  insertBundle,
  listBaselines,
  listBundles,
  recordBaseline,
  setCurrentBaseline,
} from '../store.js';

import { routes } from './route.js';

/** The catalog: signed security hotpatches (verified against the server's trusted keys) and baselines per target. */
export function bundlesPlugin(ctx: Ctx): FastifyPluginAsync {
  return async (app) => {
    const r = routes(app, ctx);
    r.post(
      '/v1/bundles',
      'operator',
      {
        querystring: PublishQuery,
        body: PublishBody,
        response: { 200: PublishResponse, 201: PublishResponse },
      },
      async (req, reply) => {
        const bundle = parseBundle(JSON.stringify(req.body), 'body');
        verifyBundle(bundle, ctx.trust);
        const p = bundle.payload;
        // A bundle no runtime of this release can apply would fail on every device.
        if (p.keyScheme !== KEY_SCHEME || p.convention !== CONVENTION_VERSION) {
          throw new ApiError(
            422,
            'E_BUNDLE_UNSUPPORTED',
            `built for function key scheme ${p.keyScheme} and calling convention ${p.convention}; runtimes of this release use key scheme ${KEY_SCHEME} and convention ${CONVENTION_VERSION}: build it again with this release's builder`,
            'payload.convention',
          );
        }
        if (!isSecurityHotpatch(p)) {
          throw new ApiError(
            422,
            'E_NOT_HOTPATCH',
            'only security fixes with an advisory are accepted as hotpatches (classification "security", advisories not empty); ship other changes as a baseline',
            'payload.classification',
          );
        }
        if (p.files.length === 0)
          throw new ValidationError('payload.files', 'a hotpatch must change at least one file');
        const body = serializeBundle(bundle);
        const digest = sha256(body);
        const targetName = p.target.name;
        const baseline = p.target.kind === 'npm' ? p.target.version : p.target.baseline;
        const created = await ctx.db.transaction(async (tx) => {
          const prev = await bundleDigest(tx, p.patchId);
          if (prev !== null) {
            if (prev === digest) return false; // same bundle again: idempotent
            throw new ConflictError(
              `patch ${p.patchId} is already published with different content`,
              'payload.patchId',
            );
          }
          await insertBundle(tx, {
            patchId: p.patchId,
            version: p.version,
            level: p.level,
            title: p.title,
            severity: p.severity,
            advisories: p.advisories,
            targetName,
            targetBaseline: baseline,
            fixedIn: p.fixedIn,
            files: p.files.map((f) => ({ path: f.path, baselineSha256: f.baselineSha256 })),
            keyId: bundle.signature?.keyId ?? '',
            sha256: digest,
            body,
            publishedBy: actorName(req),
            advisoryPublishedAt: req.query.advisoryPublishedAt ?? null,
          });
          await recordBaseline(tx, targetName, baseline);
          await markPackagesStale(tx, [targetName]);
          await audit(tx, actorName(req), 'bundle.publish', p.patchId, {
            version: p.version,
            target: targetLabel(p.target),
            advisories: p.advisories,
            sha256: digest,
          });
          return true;
        });
        const meta = await getBundle(ctx.db, p.patchId);
        return reply.status(created ? 201 : 200).send({ bundle: meta, created });
      },
      { bodyLimit: 16 * 1024 * 1024 },
    );
    r.get('/v1/bundles', 'viewer', { response: { 200: BundleListResponse } }, async () => ({
      bundles: await listBundles(ctx.db),
    }));
    r.get(
      '/v1/bundles/:patchId',
      'viewer',
      { params: PatchParams, response: { 200: BundleResponse } },
      async (req) => {
        const b = await getBundle(ctx.db, req.params.patchId);
        if (!b) throw new NotFoundError(`patch ${req.params.patchId}`, 'patchId');
        return { bundle: b };
      },
    );
    app.get<{ Params: Static<typeof PatchParams> }>(
      '/v1/bundles/:patchId/download',
      // The stored text goes out as it is (no serialiser); the schema says what it is.
      {
        onRequest: ctx.requireRole('viewer'),
        schema: { params: PatchParams, response: { 200: BundleDocument } },
      },
      async (req, reply) => {
        const body = await getBundleBody(ctx.db, req.params.patchId);
        if (body === null) throw new NotFoundError(`patch ${req.params.patchId}`, 'patchId');
        return reply.type('application/json').send(body);
      },
    );
    r.get('/v1/baselines', 'viewer', { response: { 200: BaselineListResponse } }, async () => ({
      baselines: await listBaselines(ctx.db),
    }));
    r.post(
      '/v1/baselines',
      'operator',
      { body: BaselineBody, response: { 201: BaselineSetResponse } },
      async (req, reply) => {
        await ctx.db.transaction(async (tx) => {
          await setCurrentBaseline(tx, req.body.target, req.body.version);
          await audit(tx, actorName(req), 'baseline.set-current', `${req.body.target}@${req.body.version}`);
        });
        return reply.status(201).send({ target: req.body.target, version: req.body.version, current: true });
      },
    );
  };
}
