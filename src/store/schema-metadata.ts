/**
 * Tables of IdP metadata and single logout (migration 0006-saml-metadata; R-SAML-7, R-SAML-9):
 * where each org's IdP metadata comes from (a followed URL, or the last uploaded document),
 * the last good copy and its refresh schedule, the IdP's SingleLogoutService as the metadata
 * declared it, and the LogoutRequests we sent (their IDs are the InResponseTo we accept).
 */
export interface MetadataSourcesTable {
  org_id: string;
  /** The followed metadata URL; null when the metadata was uploaded (not followed). */
  url: string | null;
  /** The EntityDescriptor chosen inside an EntitiesDescriptor (`?entityId=`), kept for refreshes. */
  entity_id: string | null;
  /** PEM of the certificate that must have signed the metadata (optional setting). */
  signing_certificate: string | null;
  /** The last good metadata document, as received. */
  document: string | null;
  document_sha256: string | null;
  /** When the last good copy was fetched or uploaded. */
  fetched_at: number | null;
  /** The document's effective validUntil (earliest along the chosen entity's path). */
  valid_until: number | null;
  /** When the followed URL is due for a refresh; null when not following a URL. */
  next_refresh_at: number | null;
  last_attempt_at: number | null;
  /** Why the last refresh failed; null after a success. */
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: number;
  /** The last refresh triggered by a signature from an unknown key (rate limit). */
  unknown_key_refresh_at: number | null;
  /** The IdP's SingleLogoutService from the metadata (R-SAML-9); null when it declared none. */
  slo_location: string | null;
  slo_binding: string | null;
  slo_response_location: string | null;
  created_at: number;
  updated_at: number;
}

export interface LogoutRequestsTable {
  /** The LogoutRequest ID we sent (the expected InResponseTo). */
  id: string;
  org_id: string;
  relay_state: string | null;
  created_at: number;
  expires_at: number;
  /** Set once by the conditional UPDATE that accepts its LogoutResponse. */
  consumed_at: number | null;
}

/** LogoutRequest IDs received from the IdP (migration 0007), each accepted once. */
export interface ReceivedLogoutRequestsTable {
  org_id: string;
  request_id: string;
  /** Kept until the LogoutRequest would be refused as too old anyway. */
  expires_at: number;
}

export interface MetadataTables {
  metadata_sources: MetadataSourcesTable;
  logout_requests: LogoutRequestsTable;
  received_logout_requests: ReceivedLogoutRequestsTable;
}
