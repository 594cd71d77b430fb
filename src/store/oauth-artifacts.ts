import type { Executor } from './database.js';

/**
 * What oidc-provider persists (sessions, interactions, grants, codes, tokens), keyed by the
 * SHA-256 of the artifact id: for opaque tokens the id is the token itself, so a database
 * reader finds no usable credential. The caller (src/oauth/storage-adapter.ts) hashes ids and
 * strips them from payloads; this module only stores rows.
 *
 * Single use is the conditional UPDATE of `consumeArtifact`, which holds across instances.
 */
export interface ArtifactRow {
  model: string;
  idHash: string;
  /** JSON without the id. */
  payload: string;
  grantIdHash: string | null;
  uidHash: string | null;
  accountId: string | null;
  clientId: string | null;
  expiresAt: number | null;
}

export interface StoredArtifact {
  payload: string;
  consumedAt: number | null;
  expiresAt: number | null;
}

/**
 * Inserts or replaces an artifact. On replace, `consumed_at`, `saml_session_hash` and
 * `created_at` are kept: a re-save (e.g. a grant gaining scopes) neither revives a consumed
 * artifact nor unlinks it from its sign-in.
 */
export async function upsertArtifact(db: Executor, row: ArtifactRow, now: number): Promise<void> {
  const values = {
    payload: row.payload,
    grant_id_hash: row.grantIdHash,
    uid_hash: row.uidHash,
    account_id: row.accountId,
    client_id: row.clientId,
    expires_at: row.expiresAt,
  };
  await db
    .insertInto('oauth_artifacts')
    .values({ model: row.model, id_hash: row.idHash, ...values, saml_session_hash: null, consumed_at: null, created_at: now })
    .onConflict((oc) => oc.columns(['model', 'id_hash']).doUpdateSet(values))
    .execute();
}

/** The artifact if it exists and has not expired at `now`. */
export async function findArtifact(db: Executor, model: string, idHash: string, now: number): Promise<StoredArtifact | undefined> {
  const row = await db
    .selectFrom('oauth_artifacts')
    .select(['payload', 'consumed_at', 'expires_at'])
    .where('model', '=', model)
    .where('id_hash', '=', idHash)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row && { payload: row.payload, consumedAt: row.consumed_at, expiresAt: row.expires_at };
}

/** Looks an artifact up by the hash of its `uid` (oidc-provider Session.findByUid). */
export async function findArtifactByUid(
  db: Executor,
  model: string,
  uidHash: string,
  now: number,
): Promise<(StoredArtifact & { idHash: string }) | undefined> {
  const row = await db
    .selectFrom('oauth_artifacts')
    .select(['id_hash', 'payload', 'consumed_at', 'expires_at'])
    .where('model', '=', model)
    .where('uid_hash', '=', uidHash)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return row && { idHash: row.id_hash, payload: row.payload, consumedAt: row.consumed_at, expiresAt: row.expires_at };
}

/**
 * Marks the artifact consumed if nobody did before: one conditional UPDATE, so of any number
 * of concurrent callers (on any instance) exactly one gets true.
 */
export async function consumeArtifact(db: Executor, model: string, idHash: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('oauth_artifacts')
    .set({ consumed_at: now })
    .where('model', '=', model)
    .where('id_hash', '=', idHash)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function destroyArtifact(db: Executor, model: string, idHash: string): Promise<void> {
  await db.deleteFrom('oauth_artifacts').where('model', '=', model).where('id_hash', '=', idHash).execute();
}

/** Deletes one model's artifacts of a grant (oidc-provider `revokeByGrantId`). */
export async function destroyArtifactsOfGrant(db: Executor, model: string, grantIdHash: string): Promise<number> {
  const r = await db
    .deleteFrom('oauth_artifacts')
    .where('model', '=', model)
    .where('grant_id_hash', '=', grantIdHash)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Records which SAML session (fedbridge_session hash) a grant was made from. */
export async function linkGrantToSamlSession(db: Executor, grantIdHash: string, samlSessionHash: string): Promise<void> {
  await db
    .updateTable('oauth_artifacts')
    .set({ saml_session_hash: samlSessionHash })
    .where('model', '=', 'Grant')
    .where('id_hash', '=', grantIdHash)
    .execute();
}

/** The SAML session a grant was made from; undefined when unknown or not linked. */
export async function samlSessionOfGrant(db: Executor, grantIdHash: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('oauth_artifacts')
    .select('saml_session_hash')
    .where('model', '=', 'Grant')
    .where('id_hash', '=', grantIdHash)
    .executeTakeFirst();
  return row?.saml_session_hash ?? undefined;
}

/**
 * Deletes whole grants — the grant rows and every code, token and marker of them — and
 * returns how many grants there were. Deleting (not flagging) is revocation for oidc-provider:
 * a grant it cannot find refuses every token of the family.
 */
export async function destroyGrants(db: Executor, grantIdHashes: readonly string[]): Promise<number> {
  let grants = 0;
  for (let i = 0; i < grantIdHashes.length; i += 500) {
    const chunk = grantIdHashes.slice(i, i + 500);
    await db.deleteFrom('oauth_artifacts').where('grant_id_hash', 'in', chunk).execute();
    const r = await db.deleteFrom('oauth_artifacts').where('model', '=', 'Grant').where('id_hash', 'in', chunk).executeTakeFirst();
    grants += Number(r.numDeletedRows);
  }
  return grants;
}

/** Grants made from any of these SAML sessions. */
export async function grantsOfSamlSessions(db: Executor, samlSessionHashes: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < samlSessionHashes.length; i += 500) {
    const rows = await db
      .selectFrom('oauth_artifacts')
      .select('id_hash')
      .where('model', '=', 'Grant')
      .where('saml_session_hash', 'in', samlSessionHashes.slice(i, i + 500))
      .execute();
    out.push(...rows.map((r) => r.id_hash));
  }
  return out;
}

/** Every grant of an account, whatever client or sign-in it came from. */
export async function grantsOfAccount(db: Executor, accountId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('oauth_artifacts')
    .select('id_hash')
    .where('model', '=', 'Grant')
    .where('account_id', '=', accountId)
    .execute();
  return rows.map((r) => r.id_hash);
}

/** Deletes every artifact naming the account (grants, tokens, codes, OAuth sessions, interactions). */
export async function destroyArtifactsOfAccount(db: Executor, accountId: string): Promise<number> {
  const r = await db.deleteFrom('oauth_artifacts').where('account_id', '=', accountId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes oidc-provider's own sessions of an account (its OAuth sign-in state in browsers). */
export async function destroySessionsOfAccount(db: Executor, accountId: string): Promise<number> {
  const r = await db
    .deleteFrom('oauth_artifacts')
    .where('model', '=', 'Session')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes every artifact issued to a client (client removal). */
export async function destroyArtifactsOfClient(db: Executor, clientId: string): Promise<number> {
  const r = await db.deleteFrom('oauth_artifacts').where('client_id', '=', clientId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes artifacts expired at `now`; returns how many. */
export async function purgeExpiredArtifacts(db: Executor, now: number): Promise<number> {
  const r = await db.deleteFrom('oauth_artifacts').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
