import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { authorize } from '../../admin/principal.js';
import { parseInput } from '../../admin/validation.js';
import { listAudit } from '../../store/audit.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

const auditQuery = z.object({
  since: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** GET /api/v1/orgs/:org/audit?since=&limit= (R-ADM-2), newest first. */
export function auditRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  router.get('/audit', async (req, res) => {
    const org = orgOf(res);
    authorize(principalOf(res), 'org:configure', org.id);
    const q = parseInput(auditQuery, req.query);
    const entries = await listAudit(ctx.database.db, {
      orgId: org.id,
      limit: q.limit,
      ...(q.since && { since: Date.parse(q.since) }),
    });
    res.json(entries.map(({ at, actor, action, target, details }) => ({ at, actor, action, target, details })));
  });
  return router;
}
