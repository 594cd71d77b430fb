import express, { Router, type RequestHandler } from 'express';
import multer from 'multer';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../admin/api-error.js';
import {
  createServiceCertificate,
  exportCertificateFile,
  getCertificateView,
  importOrgCertificate,
  listCertificateViews,
  removeCertificate,
  setActiveCertificate,
  type CertificateKind,
} from '../../certs/certificate-service.js';
import { MAX_CERTIFICATE_FILE_BYTES } from '../../certs/x509-parser.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

/** Content types under which a certificate file may be POSTed as the raw body (alias in `?alias=`). */
const RAW_CERTIFICATE_TYPES = [
  'application/pkix-cert',
  'application/x-x509-ca-cert',
  'application/x-x509-user-cert',
  'application/x-pem-file',
  'application/pem-certificate-chain',
  'application/octet-stream',
  'text/plain',
];

/**
 * Multipart `alias` + `certificate` (file or text field), in memory and small: a certificate
 * is a few KB, so anything larger is refused before it is buffered.
 */
const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: MAX_CERTIFICATE_FILE_BYTES, fieldSize: MAX_CERTIFICATE_FILE_BYTES, files: 1, fields: 4, parts: 5 },
}).single('certificate');

/** Multer's errors as field errors; a broken multipart body is a 400. */
const certificateUpload: RequestHandler = (req, res, next) => {
  upload(req, res, (err: unknown) => {
    if (!err) return next();
    if (err instanceof multer.MulterError) {
      if (err.code === 'LIMIT_FILE_SIZE' || err.code === 'LIMIT_FIELD_VALUE') {
        return next(ApiError.invalid('certificate', `the file is too large to be a certificate (at most ${MAX_CERTIFICATE_FILE_BYTES} bytes)`));
      }
      if (err.code === 'LIMIT_UNEXPECTED_FILE') {
        return next(ApiError.invalid(err.field ?? 'body', 'unexpected file; upload the certificate in the field "certificate"'));
      }
      return next(ApiError.invalid('body', 'send the multipart fields "alias" and "certificate" only'));
    }
    next(new ApiError(400, 'the multipart body is malformed'));
  });
};

const rawCertificate = express.raw({ type: RAW_CERTIFICATE_TYPES, limit: MAX_CERTIFICATE_FILE_BYTES });

/** The import input from whichever form the client used: multipart, raw file, or JSON. */
function importInput(req: express.Request): unknown {
  if (req.file) return { alias: req.body?.alias, certificate: req.file.buffer };
  if (Buffer.isBuffer(req.body)) return { alias: req.query.alias, certificate: req.body };
  if (req.is('multipart/form-data')) return { alias: req.body?.alias, certificate: req.body?.certificate };
  if (req.body === undefined) {
    throw new ApiError(
      415,
      'send JSON {"alias", "certificate"}, multipart fields "alias" and "certificate", or the certificate file itself with ?alias=',
    );
  }
  return req.body;
}

/**
 * `attachment; filename="<alias>.cer"`, always quoted; an alias with quotes, backslashes or
 * non-ASCII characters gets an ASCII fallback plus the exact name as RFC 6266 `filename*`.
 */
export function attachmentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const header = `attachment; filename="${fallback}"`;
  if (fallback === filename) return header;
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${header}; filename*=UTF-8''${encoded}`;
}

/**
 * /api/v1/orgs/:org/service-certificates and /api/v1/orgs/:org/certificates (Appendix A,
 * R-CERT-3). Thin: each route calls one flow of certificate-service.ts.
 */
export function certificateRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });

  router.post('/service-certificates', async (req, res) => {
    const view = await createServiceCertificate(ctx, principalOf(res), orgOf(res), req.body);
    res.status(201).location(`${req.baseUrl}/service-certificates/${view.id}`).json(view);
  });

  router.post('/certificates', certificateUpload, rawCertificate, async (req, res) => {
    const view = await importOrgCertificate(ctx, principalOf(res), orgOf(res), importInput(req));
    res.status(201).location(`${req.baseUrl}/certificates/${view.id}`).json(view);
  });

  for (const [path, kind] of [
    ['service-certificates', 'service'],
    ['certificates', 'org'],
  ] as Array<[string, CertificateKind]>) {
    router.get(`/${path}`, async (_req, res) => {
      res.json(await listCertificateViews(ctx, principalOf(res), orgOf(res), kind));
    });

    router.get(`/${path}/:id`, async (req, res) => {
      res.json(await getCertificateView(ctx, principalOf(res), orgOf(res), kind, String(req.params.id)));
    });

    router.get(`/${path}/:id/export`, async (req, res) => {
      const file = await exportCertificateFile(ctx, principalOf(res), orgOf(res), kind, String(req.params.id), req.query.format ?? 'pem');
      res.set('Content-Disposition', attachmentDisposition(file.filename)).type(file.contentType).send(file.body);
    });

    router.delete(`/${path}/:id`, async (req, res) => {
      await removeCertificate(ctx, principalOf(res), orgOf(res), kind, String(req.params.id));
      res.status(204).end();
    });

    router.post(`/${path}/:id/activate`, async (req, res) => {
      res.json(await setActiveCertificate(ctx, principalOf(res), orgOf(res), kind, String(req.params.id)));
    });
  }

  return router;
}
