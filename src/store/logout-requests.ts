import type { Executor } from './database.js';

/**
 * Single Logout message IDs (R-SAML-9), single use across instances:
 * - LogoutRequests we sent: a LogoutResponse is accepted only when its InResponseTo names one
 *   of them, unexpired and not yet answered, for the same org — consumed by one conditional
 *   UPDATE.
 * - LogoutRequests the IdP sent: each ID is accepted once per org (`rememberReceivedLogoutRequest`),
 *   so a captured signed LogoutRequest cannot be replayed to end a later session.
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

/**
 * Records the ID of a LogoutRequest received from the org's IdP until `expiresAt`. True the
 * first time; false when the ID is already recorded and live at `now` — a replay.
 *
 * One statement, race-safe like the assertion replay cache (src/store/replay-cache.ts): the
 * insert creates the row, or meets the primary key (org_id, request_id) and takes the row over
 * only when it has expired.
 */
export async function rememberReceivedLogoutRequest(
  db: Executor,
  r: { orgId: string; id: string; expiresAt: number; now: number },
): Promise<boolean> {
  const row = await db
    .insertInto('received_logout_requests')
    .values({ org_id: r.orgId, request_id: r.id, expires_at: r.expiresAt })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'request_id'])
        .doUpdateSet({ expires_at: r.expiresAt })
        .where('received_logout_requests.expires_at', '<=', r.now),
    )
    .returning('request_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes sent and received LogoutRequest records expired at `now`; returns how many. */
export async function purgeExpiredLogoutRequests(db: Executor, now: number): Promise<number> {
  const sent = await db.deleteFrom('logout_requests').where('expires_at', '<=', now).executeTakeFirst();
  const received = await db.deleteFrom('received_logout_requests').where('expires_at', '<=', now).executeTakeFirst();
  return Number(sent.numDeletedRows) + Number(received.numDeletedRows);
}
