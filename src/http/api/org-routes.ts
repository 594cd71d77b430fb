import { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import { loadOrgFor, createOrg, listOrgsFor, orgView, patchOrg } from '../../admin/org-service.js';
import { authorize } from '../../admin/principal.js';
import { ssoOptionsFor } from '../../admin/sso-options.js';
import type { Org } from '../../store/orgs.js';
import { principalOf } from '../authenticate.js';

declare module 'express-serve-static-core' {
  interface Locals {
    org?: Org;
  }
}

/** The org resolved by `orgScope` for routes under /orgs/:org. */
export function orgOf(res: { locals: { org?: Org } }): Org {
  const org = res.locals.org;
  if (!org) throw new Error('orgScope middleware missing');
  return org;
}

/** /api/v1/orgs and the org-scoped router every concern mounts its routes on. */
export function orgRoutes(ctx: AppContext, scoped: Router): Router {
  const router = Router();

  router.post('/orgs', async (req, res) => {
    const org = await createOrg(ctx, principalOf(res), req.body);
    res.status(201).location(`/api/v1/orgs/${org.slug}`).json(orgView(org));
  });

  router.get('/orgs', async (_req, res) => {
    res.json((await listOrgsFor(ctx, principalOf(res))).map(orgView));
  });

  // Every /orgs/:org/... route runs with the org loaded and the caller scoped to it.
  router.use('/orgs/:org', async (req, res, next) => {
    res.locals.org = await loadOrgFor(ctx, principalOf(res), String(req.params.org));
    next();
  }, scoped);

  scoped.get('/', (_req, res) => {
    const org = orgOf(res);
    authorize(principalOf(res), 'org:read', org.id);
    res.json(orgView(org));
  });

  scoped.patch('/', async (req, res) => {
    const org = await patchOrg(ctx, principalOf(res), orgOf(res).slug, req.body);
    res.json(orgView(org));
  });

  scoped.get('/sso-options', (_req, res) => {
    const org = orgOf(res);
    authorize(principalOf(res), 'org:read', org.id);
    res.json({ options: ssoOptionsFor(org) });
  });

  return router;
}
