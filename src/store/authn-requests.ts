import type { Executor } from './database.js';

/**
 * AuthnRequests we sent and are waiting for (R-SAML-2, R-SAML-3 InResponseTo): single use
 * and short-lived, enforced by one conditional UPDATE so that however many instances race
 * on one Response, exactly one consumes the request.
 */
export interface AuthnRequestRecord {
  id: string;
  orgId: string;
  relayState: string | null;
  target: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export async function saveAuthnRequest(
  db: Executor,
  r: { id: string; orgId: string; relayState: string | null; target: string | null; expiresAt: number; createdAt: number },
): Promise<void> {
  await db
    .insertInto('authn_requests')
    .values({
      id: r.id,
      org_id: r.orgId,
      relay_state: r.relayState,
      target: r.target,
      created_at: r.createdAt,
      expires_at: r.expiresAt,
      consumed_at: null,
    })
    .execute();
}

/**
 * Consumes the request `id` of `orgId` if it is unused and not expired at `now`; returns its
 * target and RelayState to the one caller that won, undefined to everybody else (unknown,
 * other org, expired, already consumed, or lost the race).
 */
export async function consumeAuthnRequest(
  db: Executor,
  q: { id: string; orgId: string; now: number },
): Promise<{ target: string | null; relayState: string | null } | undefined> {
  const row = await db
    .updateTable('authn_requests')
    .set({ consumed_at: q.now })
    .where('id', '=', q.id)
    .where('org_id', '=', q.orgId)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', q.now)
    .returning(['target', 'relay_state'])
    .executeTakeFirst();
  return row && { target: row.target, relayState: row.relay_state };
}

/**
 * The request a RelayState handle names, whatever its state: the caller checks `consumedAt`
 * and `expiresAt`, and consumes it with `consumeAuthnRequest` (the only single-use gate).
 */
export async function findByRelayState(db: Executor, orgId: string, relayState: string): Promise<AuthnRequestRecord | undefined> {
  const row = await db
    .selectFrom('authn_requests')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('relay_state', '=', relayState)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      orgId: row.org_id,
      relayState: row.relay_state,
      target: row.target,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      consumedAt: row.consumed_at,
    }
  );
}

/** Deletes requests expired at `now` (consumed or not); returns how many. */
export async function purgeExpiredAuthnRequests(db: Executor, now: number): Promise<number> {
  const r = await db.deleteFrom('authn_requests').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
