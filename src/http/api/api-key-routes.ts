import { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import { apiKeyView, createOrgApiKey, listOrgApiKeys, revokeOrgApiKey } from '../../admin/api-key-service.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

/** /api/v1/orgs/:org/api-keys — the key is in the 201 answer only (R-ADM-2). */
export function apiKeyRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  router.post('/api-keys', async (req, res) => {
    const { record, key } = await createOrgApiKey(ctx, principalOf(res), orgOf(res), req.body);
    res.status(201).set('Cache-Control', 'no-store').json({ ...apiKeyView(record), key });
  });
  router.get('/api-keys', async (_req, res) => {
    res.json((await listOrgApiKeys(ctx, principalOf(res), orgOf(res))).map(apiKeyView));
  });
  router.delete('/api-keys/:id', async (req, res) => {
    await revokeOrgApiKey(ctx, principalOf(res), orgOf(res), String(req.params.id));
    res.status(204).end();
  });
  return router;
}
