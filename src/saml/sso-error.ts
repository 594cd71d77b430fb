/**
 * Stable error codes a user may see after a failed sign-in (SPEC §9, R-ERR-1).
 * The code is public; the reason is internal and only logged.
 */
export const SSO_ERROR_CODES = [
  'SSO_MALFORMED',
  'SSO_IDP_STATUS',
  'SSO_DESTINATION',
  'SSO_ISSUER',
  'SSO_DECRYPT',
  'SSO_SIGNATURE',
  'SSO_WEAK_ALGORITHM',
  'SSO_NAMEID',
  'SSO_SUBJECT_CONFIRMATION',
  'SSO_UNSOLICITED',
  'SSO_EXPIRED',
  'SSO_AUDIENCE',
  'SSO_AUTHN_CONTEXT',
  'SSO_REPLAY',
  'SSO_MISSING_ATTRIBUTE',
  'SSO_DOMAIN',
  'SSO_NO_ACCOUNT',
  'SSO_UID_DOMAIN',
  'SSO_ACCOUNT_INACTIVE',
  'SSO_PARTNER_NOT_TRUSTED',
  'SSO_CONFIG',
  'SSO_NO_ACTIVE_CERT',
] as const;

export type SsoErrorCode = (typeof SSO_ERROR_CODES)[number];

export class SsoError extends Error {
  override readonly name = 'SsoError';
  constructor(
    readonly code: SsoErrorCode,
    /** Internal explanation for the log; never shown to the user. */
    readonly reason: string,
    /** Extra public detail, e.g. the IdP status code or missing attribute names. */
    readonly detail?: string,
  ) {
    super(`${code}: ${reason}`);
  }
}
