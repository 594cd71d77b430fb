/**
 * Tables of certificate management (migration 0002-certificates, R-CERT): the service
 * certificates fedbridge generates for an organisation (with their private keys, sealed under
 * the master key) and the organisation certificates (the IdP's signing certificates) it
 * imports. Both hold at most three rows per org with at most one active, enforced by the
 * partial unique index and the org-row lock in src/store/certificates.ts.
 */
export interface ServiceCertificatesTable {
  id: string;
  org_id: string;
  alias: string;
  /** One CERTIFICATE block, canonical PEM. */
  certificate_pem: string;
  /** The PKCS#8 PEM sealed with `seal(masterKey, pem, 'service-cert:<id>')`; never clear text (R-CERT-4). */
  private_key_sealed: string;
  /** Lower-case hex SHA-256 of the DER. */
  fingerprint_sha256: string;
  /** notAfter in epoch milliseconds (expiry metrics and sorting without parsing). */
  not_after: number;
  active: number;
  created_at: number;
}

export interface OrgCertificatesTable {
  id: string;
  org_id: string;
  alias: string;
  certificate_pem: string;
  /** Lower-case hex SHA-256 of the DER; unique per org, so one certificate is stored once. */
  fingerprint_sha256: string;
  not_after: number;
  active: number;
  /** `upload` (API, console, CLI) or `metadata` (imported with the IdP's metadata). */
  source: string;
  created_at: number;
}

export interface CertificateTables {
  service_certificates: ServiceCertificatesTable;
  org_certificates: OrgCertificatesTable;
}
