import { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import { getSsoConfig, updateSsoConfig } from '../../saml/sso-config-service.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

/** GET/PUT /api/v1/orgs/:org/sso — Federated Web SSO configuration (R-SAML-1, Appendix A). */
export function ssoConfigRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  router.get('/sso', async (_req, res) => {
    res.json(await getSsoConfig(ctx, principalOf(res), orgOf(res)));
  });
  router.put('/sso', async (req, res) => {
    res.json(await updateSsoConfig(ctx, principalOf(res), orgOf(res), req.body));
  });
  return router;
}
