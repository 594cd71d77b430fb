import express, { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../admin/api-error.js';
import { requireApiKey } from '../authenticate.js';
import { apiErrorHandler } from '../problem.js';
import { apiKeyRoutes } from './api-key-routes.js';
import { auditRoutes } from './audit-routes.js';
import { certificateRoutes } from './certificate-routes.js';
import { metadataApiRoutes } from './metadata-routes.js';
import { clientRoutes } from './client-routes.js';
import { orgRoutes } from './org-routes.js';
import { ssoConfigRoutes } from './sso-config-routes.js';
import { usersRoutes } from './users-routes.js';

/**
 * The JSON admin API under /api/v1 (R-ADM-2). Each concern contributes a router: global
 * ones are mounted on `router`, org-scoped ones on `scoped` (mounted at /orgs/:org with
 * the org loaded and the caller's scope checked).
 */
export function apiRouter(ctx: AppContext): Router {
  const router = Router();
  router.use(requireApiKey(ctx));
  router.use(express.json({ limit: `${ctx.config.bodyLimitKb}kb` }));

  const scoped = Router({ mergeParams: true });
  scoped.use(apiKeyRoutes(ctx));
  scoped.use(auditRoutes(ctx));
  scoped.use(certificateRoutes(ctx));
  scoped.use(metadataApiRoutes(ctx));
  scoped.use(ssoConfigRoutes(ctx));
  scoped.use(usersRoutes(ctx));

  router.use(clientRoutes(ctx));
  router.use(orgRoutes(ctx, scoped));

  router.use((_req, _res, next) => next(new ApiError(404, 'no such API route')));
  router.use(apiErrorHandler);
  return router;
}
