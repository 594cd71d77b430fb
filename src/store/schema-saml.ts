/**
 * Tables of the SAML service provider (migration 0003-saml): each org's Federated Web SSO
 * configuration and the sign-in state every instance shares (R-OPS-2): AuthnRequest ids,
 * consumed assertion ids, and server-side sessions.
 */
export interface SsoConfigsTable {
  org_id: string;
  config: string; // JSON: the normalized SsoConfig (src/saml/sso-config.ts)
  created_at: number;
  updated_at: number;
}

export interface AuthnRequestsTable {
  /** The AuthnRequest ID we sent (also the expected InResponseTo). */
  id: string;
  org_id: string;
  /** The opaque RelayState handle sent with it (R-SAML-2); null when none was sent. */
  relay_state: string | null;
  /** The checked target to land on after sign-in; null for the default target. */
  target: string | null;
  created_at: number;
  expires_at: number;
  /** Set once by the single conditional UPDATE that consumes it. */
  consumed_at: number | null;
}

export interface SamlAssertionIdsTable {
  org_id: string;
  assertion_id: string;
  /** Kept until the assertion could no longer be accepted anyway (NotOnOrAfter + skew). */
  expires_at: number;
}

export interface SamlSessionsTable {
  /** SHA-256 of the fedbridge_session cookie value; the value itself is never stored. */
  id_hash: string;
  org_id: string;
  /** The account signed in; no foreign key, the accounts table comes in 0004. */
  account_id: string;
  name_id: string;
  name_id_format: string | null;
  session_index: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface SamlTables {
  sso_configs: SsoConfigsTable;
  authn_requests: AuthnRequestsTable;
  saml_assertion_ids: SamlAssertionIdsTable;
  saml_sessions: SamlSessionsTable;
}
