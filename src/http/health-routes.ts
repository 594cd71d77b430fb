import { Router } from 'express';
import type { AppContext } from '../app-context.js';

/** Liveness, readiness (fails while the database is unreachable) and Prometheus metrics. */
export function healthRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    try {
      await Promise.race([
        ctx.database.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('database ping timed out')), 2000).unref()),
      ]);
      res.json({ status: 'ready' });
    } catch (err) {
      req.log?.warn({ reason: (err as Error).message }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  });
  return router;
}
