import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { SamlSessionsTable } from './schema-saml.js';

/**
 * Server-side sessions behind the fedbridge_session cookie (R-SAML-6), keyed by the SHA-256
 * of the cookie value (`hashSessionId` in src/saml/session-cookie.ts). Revocation is a
 * timestamp, not a delete, so a revoked cookie is told apart from an unknown one in logs and
 * the OAuth layer can still find which session a token came from.
 */
export interface SamlSession {
  idHash: string;
  orgId: string;
  accountId: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

function toSession(row: Selectable<SamlSessionsTable>): SamlSession {
  return {
    idHash: row.id_hash,
    orgId: row.org_id,
    accountId: row.account_id,
    nameId: row.name_id,
    nameIdFormat: row.name_id_format,
    sessionIndex: row.session_index,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export async function createSession(db: Executor, s: Omit<SamlSession, 'revokedAt'>): Promise<SamlSession> {
  await db
    .insertInto('saml_sessions')
    .values({
      id_hash: s.idHash,
      org_id: s.orgId,
      account_id: s.accountId,
      name_id: s.nameId,
      name_id_format: s.nameIdFormat,
      session_index: s.sessionIndex,
      created_at: s.createdAt,
      expires_at: s.expiresAt,
      revoked_at: null,
    })
    .execute();
  return { ...s, revokedAt: null };
}

/** The session if it exists, is not revoked and has not expired at `now`. */
export async function findActiveSession(db: Executor, idHash: string, now: number): Promise<SamlSession | undefined> {
  const row = await db
    .selectFrom('saml_sessions')
    .selectAll()
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row && toSession(row);
}

/** Revokes one session; true when it was active (false: unknown or already revoked). */
export async function revokeSession(db: Executor, idHash: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('saml_sessions')
    .set({ revoked_at: now })
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Revokes every live session of an account (deactivation, R-ACC-6; partner withdrawal,
 * R-PDA-2). Returns the id hashes revoked so the caller can revoke their refresh tokens.
 */
export async function revokeSessionsOfAccount(db: Executor, accountId: string, now: number): Promise<string[]> {
  const rows = await db
    .updateTable('saml_sessions')
    .set({ revoked_at: now })
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .returning('id_hash')
    .execute();
  return rows.map((r) => r.id_hash);
}

/**
 * Revokes the sessions an IdP-initiated LogoutRequest names (R-SAML-9): the org's sessions
 * of `nameId`, restricted to `sessionIndex` when the request carries one (SAML core §3.7.1:
 * without SessionIndex, all of the principal's sessions). Returns the id hashes revoked.
 */
export async function revokeSessionsBySessionIndex(
  db: Executor,
  orgId: string,
  nameId: string,
  sessionIndex: string | undefined,
  now: number,
): Promise<string[]> {
  let q = db
    .updateTable('saml_sessions')
    .set({ revoked_at: now })
    .where('org_id', '=', orgId)
    .where('name_id', '=', nameId)
    .where('revoked_at', 'is', null);
  if (sessionIndex !== undefined) q = q.where('session_index', '=', sessionIndex);
  const rows = await q.returning('id_hash').execute();
  return rows.map((r) => r.id_hash);
}

/** Deletes sessions expired at `now` (revoked or not); returns how many. */
export async function purgeExpiredSessions(db: Executor, now: number): Promise<number> {
  const r = await db.deleteFrom('saml_sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
