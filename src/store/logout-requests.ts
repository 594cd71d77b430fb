import type { Executor } from './database.js';

/**
 * LogoutRequests we sent (R-SAML-9): a LogoutResponse is accepted only when its InResponseTo
 * names one of them, unexpired and not yet answered, for the same org — consumed by one
 * conditional UPDATE so it holds across instances.
 */
export async function insertLogoutRequest(
  db: Executor,
  r: { id: string; orgId: string; relayState: string | null; createdAt: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('logout_requests')
    .values({ id: r.id, org_id: r.orgId, relay_state: r.relayState, created_at: r.createdAt, expires_at: r.expiresAt, consumed_at: null })
    .execute();
}

/** Marks the request answered; true only for the first answer of a live request of this org. */
export async function consumeLogoutRequest(db: Executor, orgId: string, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('logout_requests')
    .set({ consumed_at: now })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function purgeExpiredLogoutRequests(db: Executor, now: number): Promise<number> {
  const r = await db.deleteFrom('logout_requests').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
