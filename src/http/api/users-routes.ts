import express, { Router } from 'express';
import type { AppContext } from '../../app-context.js';
import {
  accountView,
  createAccountFor,
  deactivateAccount,
  getAccountFor,
  patchAccountFor,
  reactivateAccount,
  searchAccountsFor,
} from '../../accounts/account-service.js';
import { exportUsersCsv, importUsersCsv } from '../../accounts/users-csv.js';
import { ApiError } from '../../admin/api-error.js';
import { principalOf } from '../authenticate.js';
import { orgOf } from './org-routes.js';

const CSV_TYPES = ['text/csv', 'application/csv', 'text/tab-separated-values'];

/** /api/v1/orgs/:org/users — accounts (R-ACC-6, R-ACC-7, Appendix A). */
export function usersRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  // A CSV of many thousand users is larger than a JSON body, so it has its own limit.
  const csvBody = express.text({ type: CSV_TYPES, limit: `${Math.max(ctx.config.bodyLimitKb, 5120)}kb` });

  router.get('/users', async (req, res) => {
    res.json(await searchAccountsFor(ctx, principalOf(res), orgOf(res), req.query));
  });

  router.post('/users', async (req, res) => {
    const org = orgOf(res);
    const account = await createAccountFor(ctx, principalOf(res), org, req.body);
    res.status(201).location(`/api/v1/orgs/${org.slug}/users/${account.id}`).json(accountView(account));
  });

  // Before /users/:id, which would otherwise take "export" and "import" for ids.
  router.get('/users/export', async (_req, res) => {
    const org = orgOf(res);
    const csv = await exportUsersCsv(ctx, principalOf(res), org);
    res.set('Cache-Control', 'no-store').attachment(`users-${org.slug}.csv`).type('text/csv; charset=utf-8').send(csv);
  });

  router.post('/users/import', csvBody, async (req, res) => {
    if (typeof req.body !== 'string') {
      throw new ApiError(415, `send the file as text/csv (got ${req.get('content-type') ?? 'no content type'})`);
    }
    res.json(await importUsersCsv(ctx, principalOf(res), orgOf(res), req.body));
  });

  router.get('/users/:id', async (req, res) => {
    res.json(accountView(await getAccountFor(ctx, principalOf(res), orgOf(res), String(req.params.id))));
  });

  router.patch('/users/:id', async (req, res) => {
    res.json(accountView(await patchAccountFor(ctx, principalOf(res), orgOf(res), String(req.params.id), req.body)));
  });

  router.post('/users/:id/deactivate', async (req, res) => {
    res.json(accountView(await deactivateAccount(ctx, principalOf(res), orgOf(res), String(req.params.id))));
  });

  router.post('/users/:id/reactivate', async (req, res) => {
    res.json(accountView(await reactivateAccount(ctx, principalOf(res), orgOf(res), String(req.params.id))));
  });

  return router;
}
