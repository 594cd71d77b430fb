import { Router, type ErrorRequestHandler } from 'express';
import type { AppContext } from '../app-context.js';
import { exportSpMetadata, MetadataExportError } from '../saml/metadata-export-flow.js';
import { findOrgBySlug } from '../store/orgs.js';

/**
 * `GET /sso/:org/saml/metadata[?signed=true][&download=1]` (R-SAML-8): the org's SP metadata,
 * public as metadata is. `download` adds a Content-Disposition for the console's download link.
 */
export function metadataRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/sso/:org/saml/metadata', async (req, res) => {
    const signedParam = req.query.signed;
    if (signedParam !== undefined && signedParam !== 'true' && signedParam !== 'false') {
      res.status(400).type('text/plain').send('signed must be true or false\n');
      return;
    }
    const org = await findOrgBySlug(ctx.database.db, String(req.params.org).toLowerCase());
    if (!org) {
      res.status(404).type('text/plain').send('no such organisation\n');
      return;
    }
    try {
      const xml = await exportSpMetadata(ctx, org, { signed: signedParam === 'true' });
      if (req.query.download !== undefined) {
        res.set('Content-Disposition', `attachment; filename="${org.slug.replace(/[^A-Za-z0-9.-]/g, '_')}-sp-metadata.xml"`);
      }
      // Short caching: a certificate rollover must reach IdPs that poll this URL.
      res.set('Cache-Control', 'public, max-age=300');
      res.type('application/samlmetadata+xml').send(xml);
    } catch (err) {
      if (err instanceof MetadataExportError) {
        res.status(err.status).type('text/plain').send(`${err.message}\n`);
        return;
      }
      throw err;
    }
  });
  // Anything else is a bug: logged with the request id, answered without a stack trace.
  router.use(((err, req, res, _next) => {
    req.log?.error({ err }, 'metadata export failed');
    res.status(500).type('text/plain').send(`internal error; quote the request id ${String(res.locals.requestId ?? '')}\n`);
  }) as ErrorRequestHandler);
  return router;
}
