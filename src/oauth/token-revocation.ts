/**
 * Revocation that does not come through /oauth/revoke (R-OAUTH-4, R-ACC-6, R-PDA-2): sign-out,
 * account deactivation, partner access withdrawal, client removal. Revoking deletes the grant
 * and every code and token of it (what oidc-provider's revokeByGrantId does, for every model at
 * once) and ends oidc-provider's own browser sessions of the account, so neither a refresh
 * token nor a lingering OAuth session outlives the sign-in.
 *
 * Every function takes an Executor so callers run it inside their own transaction.
 * JWT access tokens already issued stay valid until they expire (at most one hour): a
 * self-contained JWT cannot be recalled; that is why it lives so briefly.
 */
import type { AccountDeactivatedHandler } from '../accounts/account-events.js';
import type { Executor } from '../store/database.js';
import {
  destroyArtifactsOfAccount,
  destroyGrants,
  destroySessionsOfAccount,
  grantsOfSamlSessions,
} from '../store/oauth-artifacts.js';

export interface RevocationResult {
  grants: number;
  oauthSessions: number;
}

/**
 * Sign-out of SAML sessions (SLO, logout, partner withdrawal — the caller passes the id hashes
 * it revoked, e.g. what `revokeSessionsOfAccount` returns): revokes the token families made
 * from them and ends the OAuth browser sessions of their accounts.
 */
export async function revokeTokensForSessions(db: Executor, samlSessionIdHashes: readonly string[]): Promise<RevocationResult> {
  if (samlSessionIdHashes.length === 0) return { grants: 0, oauthSessions: 0 };
  const grants = await destroyGrants(db, await grantsOfSamlSessions(db, samlSessionIdHashes));
  const accounts = new Set<string>();
  for (let i = 0; i < samlSessionIdHashes.length; i += 500) {
    const rows = await db
      .selectFrom('saml_sessions')
      .select('account_id')
      .where('id_hash', 'in', samlSessionIdHashes.slice(i, i + 500))
      .execute();
    for (const r of rows) accounts.add(r.account_id);
  }
  let oauthSessions = 0;
  // The OAuth session only mirrors the SAML one; another device's SAML cookie re-creates it silently.
  for (const accountId of accounts) oauthSessions += await destroySessionsOfAccount(db, accountId);
  return { grants, oauthSessions };
}

/** One SAML session signed out. */
export function revokeTokensForSession(db: Executor, samlSessionIdHash: string): Promise<RevocationResult> {
  return revokeTokensForSessions(db, [samlSessionIdHash]);
}

/** Everything OAuth holds for an account: grants, codes, refresh tokens, OAuth sessions. Returns rows deleted. */
export async function revokeGrantsOfAccount(db: Executor, accountId: string): Promise<number> {
  return destroyArtifactsOfAccount(db, accountId);
}

/** R-ACC-6, registered with onAccountDeactivated: runs inside the deactivation transaction. */
export const revokeOAuthOnAccountDeactivated: AccountDeactivatedHandler = async (trx, event) => {
  await revokeGrantsOfAccount(trx, event.accountId);
};
