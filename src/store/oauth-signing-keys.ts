import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { OAuthSigningKeysTable } from './schema-oauth.js';

/**
 * Token-signing keys (R-OAUTH-5). One `current` key signs (partial unique index); `previous`
 * keys stay published until every token they signed has expired, then are deleted.
 */
export type SigningKeyStatus = 'current' | 'previous';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwkSealed: string;
  status: SigningKeyStatus;
  createdAt: number;
  retiredAt: number | null;
}

function toRecord(r: Selectable<OAuthSigningKeysTable>): SigningKeyRecord {
  return {
    kid: r.kid,
    alg: r.alg,
    publicJwk: r.public_jwk,
    privateJwkSealed: r.private_jwk_sealed,
    status: r.status as SigningKeyStatus,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  };
}

/** The current key first, then previous keys newest first. */
export async function listSigningKeys(db: Executor): Promise<SigningKeyRecord[]> {
  const rows = await db.selectFrom('oauth_signing_keys').selectAll().execute();
  return rows
    .map(toRecord)
    .sort((a, b) => (a.status === b.status ? b.createdAt - a.createdAt : a.status === 'current' ? -1 : 1));
}

/** A cheap fingerprint of the key set, so an instance can tell another one rotated. */
export async function signingKeySetVersion(db: Executor): Promise<string> {
  const rows = await db.selectFrom('oauth_signing_keys').select(['kid', 'status']).orderBy('kid').execute();
  return rows.map((r) => `${r.kid}:${r.status}`).join(',');
}

/**
 * Inserts a new current key. @throws a unique violation (isUniqueViolation) when another
 * current key exists — retire it first in the same transaction.
 */
export async function insertCurrentSigningKey(
  db: Executor,
  k: { kid: string; alg: string; publicJwk: string; privateJwkSealed: string; createdAt: number },
): Promise<void> {
  await db
    .insertInto('oauth_signing_keys')
    .values({
      kid: k.kid,
      alg: k.alg,
      public_jwk: k.publicJwk,
      private_jwk_sealed: k.privateJwkSealed,
      status: 'current',
      created_at: k.createdAt,
      retired_at: null,
    })
    .execute();
}

/** Turns the current key into a previous one; returns its kid, or undefined when there was none. */
export async function retireCurrentSigningKey(db: Executor, now: number): Promise<string | undefined> {
  const rows = await db
    .updateTable('oauth_signing_keys')
    .set({ status: 'previous', retired_at: now })
    .where('status', '=', 'current')
    .returning('kid')
    .execute();
  return rows[0]?.kid;
}

/** Deletes previous keys retired at or before `retiredBefore`; returns their kids. */
export async function deleteRetiredSigningKeys(db: Executor, retiredBefore: number): Promise<string[]> {
  const rows = await db
    .deleteFrom('oauth_signing_keys')
    .where('status', '=', 'previous')
    .where('retired_at', '<=', retiredBefore)
    .returning('kid')
    .execute();
  return rows.map((r) => r.kid);
}
