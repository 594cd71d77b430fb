import type { Executor } from './database.js';

/**
 * Assertion ids already consumed (R-SAML-3 [SSO_REPLAY]), per org, kept until the assertion
 * could no longer be accepted anyway. In the database so the check holds across instances.
 */

/**
 * Records `assertionId` as consumed until `expiresAt` (pass the assertion's NotOnOrAfter plus
 * the allowed clock skew). Returns true the first time, false when the id is already
 * recorded and not expired at `now` — a replay.
 *
 * One statement, so it is race-safe: the insert either creates the row, or meets the primary
 * key (org_id, assertion_id) and takes over the existing row only when that row has expired
 * (`DO UPDATE … WHERE expires_at <= now`). Two concurrent callers with one id: the second
 * waits for the first's row and then finds it live, so exactly one gets true.
 */
export async function rememberAssertionId(
  db: Executor,
  r: { orgId: string; assertionId: string; expiresAt: number; now: number },
): Promise<boolean> {
  const row = await db
    .insertInto('saml_assertion_ids')
    .values({ org_id: r.orgId, assertion_id: r.assertionId, expires_at: r.expiresAt })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'assertion_id'])
        .doUpdateSet({ expires_at: r.expiresAt })
        .where('saml_assertion_ids.expires_at', '<=', r.now),
    )
    .returning('assertion_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes ids expired at `now`; returns how many. */
export async function purgeExpiredAssertionIds(db: Executor, now: number): Promise<number> {
  const r = await db.deleteFrom('saml_assertion_ids').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
