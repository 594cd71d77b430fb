import express, { Router, type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../admin/api-error.js';
import { authorize } from '../../admin/principal.js';
import { parseInput } from '../../admin/validation.js';
import { METADATA_MAX_BYTES } from '../../saml/metadata-fetcher.js';
import {
  getMetadataSource,
  importIdpMetadata,
  updateMetadataSource,
  type MetadataImportInput,
} from '../../saml/metadata-import-flow.js';
import { refreshOrgMetadata } from '../../saml/metadata-refresh.js';
import { assertFederatedWebSsoAvailable } from '../../saml/sso-config-service.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

/** Content types under which the metadata document may be POSTed as the body. */
const XML_TYPES = ['application/samlmetadata+xml', 'text/xml', 'application/xml'];
const TOO_LARGE = 'the metadata document is larger than 1 MiB';

const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: METADATA_MAX_BYTES, fieldSize: METADATA_MAX_BYTES, files: 1, fields: 4, parts: 5 },
}).single('metadata');

/** Multer's errors as field errors: over 1 MiB is 422 (R-SAML-7), a broken multipart body 400. */
const metadataUpload: RequestHandler = (req, res, next) => {
  upload(req, res, (err: unknown) => {
    if (!err) return next();
    if (err instanceof multer.MulterError) {
      if (err.code === 'LIMIT_FILE_SIZE' || err.code === 'LIMIT_FIELD_VALUE') return next(ApiError.invalid('metadata', TOO_LARGE));
      if (err.code === 'LIMIT_UNEXPECTED_FILE') {
        return next(ApiError.invalid(err.field ?? 'body', 'unexpected file; upload the metadata in the field "metadata"'));
      }
      return next(ApiError.invalid('body', 'send the multipart fields "metadata", "entityId" and "metadataSigningCertificate" only'));
    }
    next(new ApiError(400, 'the multipart body is malformed'));
  });
};

const rawParser = express.raw({ type: XML_TYPES, limit: METADATA_MAX_BYTES });
const rawXml: RequestHandler = (req, res, next) => {
  rawParser(req, res, (err: unknown) => {
    if ((err as { type?: string } | undefined)?.type === 'entity.too.large') return next(ApiError.invalid('metadata', TOO_LARGE));
    next(err);
  });
};

const optionalText = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`).optional();

const jsonSchema = z
  .object({
    url: optionalText(2048),
    metadata: z.string({ error: 'must be the metadata XML as a string' }).optional(),
    entityId: optionalText(1024),
    metadataSigningCertificate: z.string({ error: 'must be the certificate as PEM text, or null' }).nullable().optional(),
  })
  .strict();

const multipartSchema = z
  .object({
    metadata: z.string().optional(),
    entityId: optionalText(1024),
    metadataSigningCertificate: z.string().optional(),
  })
  .strict();

function queryEntityId(req: Request): string | undefined {
  const v = req.query.entityId;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw ApiError.invalid('entityId', 'give entityId once');
  return v;
}

/** The import input from whichever form the client used: XML body, multipart, or JSON. */
function importInput(req: Request): MetadataImportInput {
  const entityId = queryEntityId(req);
  if (Buffer.isBuffer(req.body)) return { document: req.body, entityId };
  if (req.is('multipart/form-data')) {
    const fields = parseInput(multipartSchema, { ...req.body });
    const document = req.file?.buffer ?? fields.metadata;
    return {
      document,
      entityId: fields.entityId ?? entityId,
      ...(fields.metadataSigningCertificate ? { metadataSigningCertificate: fields.metadataSigningCertificate } : {}),
    };
  }
  if (req.is('application/json') && typeof req.body === 'object' && req.body !== null) {
    const body = parseInput(jsonSchema, req.body);
    return {
      url: body.url,
      document: body.metadata,
      entityId: body.entityId ?? entityId,
      metadataSigningCertificate: body.metadataSigningCertificate,
    };
  }
  throw new ApiError(
    415,
    'send the metadata XML (Content-Type application/samlmetadata+xml, text/xml or application/xml), ' +
      'multipart field "metadata", or JSON {"url"}',
  );
}

/**
 * /api/v1/orgs/:org/sso/metadata (R-SAML-7, Appendix A): import IdP metadata by document or
 * URL; see and change where it comes from; refresh a followed URL now.
 */
export function metadataApiRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });

  router.post('/sso/metadata', metadataUpload, rawXml, async (req, res) => {
    res.json(await importIdpMetadata(ctx, principalOf(res), orgOf(res), importInput(req)));
  });

  router.get('/sso/metadata/source', async (_req, res) => {
    res.json(await getMetadataSource(ctx, principalOf(res), orgOf(res)));
  });

  router.put('/sso/metadata/source', async (req, res) => {
    res.json(await updateMetadataSource(ctx, principalOf(res), orgOf(res), req.body));
  });

  router.post('/sso/metadata/refresh', async (_req, res) => {
    const principal = principalOf(res);
    const org = orgOf(res);
    authorize(principal, 'org:configure', org.id);
    assertFederatedWebSsoAvailable(org);
    const result = await refreshOrgMetadata(ctx, org.id, 'admin');
    if (result.outcome === 'not-following') throw ApiError.conflict('this organisation does not follow a metadata URL; import {"url"} first');
    res.json({ ...result, source: await getMetadataSource(ctx, principal, org) });
  });

  return router;
}
