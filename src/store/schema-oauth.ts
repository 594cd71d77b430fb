/**
 * Tables of the OAuth 2.0 / OpenID token service (migration 0005-oauth; SPEC §7).
 *
 * - `oauth_artifacts`: everything oidc-provider persists (sessions, interactions, grants,
 *   authorization codes, opaque access tokens, refresh tokens, replay markers), keyed by the
 *   SHA-256 of the artifact id — for opaque tokens the id IS the token, so the table holds no
 *   usable credential — with the id removed from the stored payload.
 * - `oauth_clients`: registered clients (R-OAUTH-1); confidential secrets only as a hash.
 * - `oauth_signing_keys`: token-signing keys (R-OAUTH-5), private parts sealed under the
 *   master key.
 */
export interface OAuthArtifactsTable {
  /** oidc-provider model name: Session, Interaction, Grant, AuthorizationCode, RefreshToken… */
  model: string;
  /** SHA-256 (hex) of the artifact id. */
  id_hash: string;
  /** The model's payload as JSON, without its id (`jti`). */
  payload: string;
  /** SHA-256 of the grant the artifact belongs to: the token family, revoked as one. */
  grant_id_hash: string | null;
  /** SHA-256 of a Session's `uid` (findByUid). */
  uid_hash: string | null;
  account_id: string | null;
  client_id: string | null;
  /** Grants only: SHA-256 of the fedbridge_session the grant was made from (sign-out revokes it). */
  saml_session_hash: string | null;
  /** Epoch ms after which the artifact no longer exists; null: never expires. */
  expires_at: number | null;
  /** Set once by the conditional UPDATE of `consume()`; the check-and-set of single use. */
  consumed_at: number | null;
  created_at: number;
}

export interface OAuthClientsTable {
  /** The client_id. */
  id: string;
  name: string;
  type: string; // public | confidential
  redirect_uris: string; // JSON array
  grant_types: string; // JSON array
  scopes: string; // JSON array
  /** SHA-256 of the client secret (confidential clients); the secret itself is shown once. */
  secret_hash: string | null;
  created_by: string;
  created_at: number;
}

export interface OAuthSigningKeysTable {
  /** JWK thumbprint (RFC 7638) of the public key. */
  kid: string;
  alg: string; // ES256 | RS256
  /** Public JWK as JSON. */
  public_jwk: string;
  /** Private JWK sealed with the master key (src/crypto/envelope.ts), bound to the kid. */
  private_jwk_sealed: string;
  /** `current` signs; `previous` is still published so live tokens keep verifying. */
  status: string;
  created_at: number;
  retired_at: number | null;
}

export interface OAuthTables {
  oauth_artifacts: OAuthArtifactsTable;
  oauth_clients: OAuthClientsTable;
  oauth_signing_keys: OAuthSigningKeysTable;
}
