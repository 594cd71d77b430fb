import { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import { clientView, createClient, deleteClient, getClient, listClients } from '../../oauth/client-registry.js';
import { principalOf } from '../authenticate.js';

/** /api/v1/clients (Appendix A, R-OAUTH-1), operator only. The secret is in the 201 answer only. */
export function clientRoutes(ctx: AppContext): Router {
  const router = Router();
  router.post('/clients', async (req, res) => {
    const { client, clientSecret } = await createClient(ctx, principalOf(res), req.body);
    res
      .status(201)
      .location(`/api/v1/clients/${client.id}`)
      .set('Cache-Control', 'no-store')
      .json({ ...clientView(client), ...(clientSecret && { clientSecret }) });
  });
  router.get('/clients', async (_req, res) => {
    res.json((await listClients(ctx, principalOf(res))).map(clientView));
  });
  router.get('/clients/:id', async (req, res) => {
    res.json(clientView(await getClient(ctx, principalOf(res), String(req.params.id))));
  });
  router.delete('/clients/:id', async (req, res) => {
    await deleteClient(ctx, principalOf(res), String(req.params.id));
    res.status(204).end();
  });
  return router;
}
