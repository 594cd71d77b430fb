/**
 * What a user sees when sign-in fails (R-ERR-1): the stable code, one sentence saying what it
 * means, and the correlation id that finds the log line — never a stack trace, a reason or
 * any part of the assertion. Either a redirect to the Customer SSO error URL with
 * `errorCode=<CODE>` appended, or the page: views/sso-error.html (every value escaped) in the
 * layout of page-template.ts.
 */
import { fillTemplate, renderPage, view } from './page-template.js';
import type { SsoErrorCode } from './sso-error.js';

/** One sentence per code, in the user's terms. */
export const SSO_ERROR_EXPLANATIONS: Readonly<Record<SsoErrorCode, string>> = {
  SSO_MALFORMED: 'The sign-in response from your identity provider could not be read.',
  SSO_IDP_STATUS: 'Your identity provider reported that it could not sign you in.',
  SSO_DESTINATION: 'The sign-in response was addressed to a different service.',
  SSO_ISSUER: 'The sign-in response came from an identity provider this organisation does not use.',
  SSO_DECRYPT: 'The encrypted sign-in response could not be decrypted with this organisation’s service certificates.',
  SSO_SIGNATURE: 'The sign-in response is not signed by a certificate this organisation trusts.',
  SSO_WEAK_ALGORITHM: 'The sign-in response is signed with an algorithm that is not allowed (such as SHA-1).',
  SSO_NAMEID: 'The sign-in response does not identify the user in the format this organisation expects.',
  SSO_SUBJECT_CONFIRMATION: 'The sign-in response does not answer a sign-in started here, or was meant for another address.',
  SSO_UNSOLICITED: 'Sign-in started at the identity provider is not enabled for this organisation.',
  SSO_EXPIRED: 'The sign-in response is expired or not yet valid; check that the clocks of both sides are right.',
  SSO_AUDIENCE: 'The sign-in response was issued for a different service.',
  SSO_AUTHN_CONTEXT: 'You signed in with a method this organisation does not accept.',
  SSO_REPLAY: 'This sign-in response has already been used; please sign in again.',
  SSO_MISSING_ATTRIBUTE: 'The sign-in response lacks information needed to set up your account.',
  SSO_DOMAIN: 'Your e-mail domain does not belong to this organisation.',
  SSO_NO_ACCOUNT: 'There is no account for you in this organisation, and accounts are not created automatically.',
  SSO_UID_DOMAIN: 'Your user name is not in a domain this organisation allows.',
  SSO_ACCOUNT_INACTIVE: 'Your account in this organisation is deactivated.',
  SSO_PARTNER_NOT_TRUSTED: 'Your organisation is not trusted to sign in here.',
  SSO_CONFIG: 'Single sign-on is not set up for this organisation, or its configuration is incomplete.',
  SSO_NO_ACTIVE_CERT: 'This organisation has no active service certificate to sign sign-in requests with.',
};

/**
 * 400 for what is wrong with the request or the org's setup, 401 for a response that does
 * not authenticate anyone, 403 for an authenticated user the account rules refuse.
 */
export const SSO_ERROR_STATUS: Readonly<Record<SsoErrorCode, 400 | 401 | 403>> = {
  SSO_MALFORMED: 400,
  SSO_IDP_STATUS: 401,
  SSO_DESTINATION: 401,
  SSO_ISSUER: 401,
  SSO_DECRYPT: 401,
  SSO_SIGNATURE: 401,
  SSO_WEAK_ALGORITHM: 401,
  SSO_NAMEID: 401,
  SSO_SUBJECT_CONFIRMATION: 401,
  SSO_UNSOLICITED: 401,
  SSO_EXPIRED: 401,
  SSO_AUDIENCE: 401,
  SSO_AUTHN_CONTEXT: 401,
  SSO_REPLAY: 401,
  SSO_MISSING_ATTRIBUTE: 403,
  SSO_DOMAIN: 403,
  SSO_NO_ACCOUNT: 403,
  SSO_UID_DOMAIN: 403,
  SSO_ACCOUNT_INACTIVE: 403,
  SSO_PARTNER_NOT_TRUSTED: 403,
  SSO_CONFIG: 400,
  SSO_NO_ACTIVE_CERT: 400,
};

/**
 * The Customer SSO error URL with `errorCode=<code>` appended. The URL's own query string is
 * kept byte for byte (re-serializing it through URLSearchParams would re-encode it), and a
 * fragment stays after the query.
 */
export function errorRedirectUrl(errorUrl: string, code: SsoErrorCode): string {
  const url = new URL(errorUrl);
  const existing = url.search.length > 1 ? url.search.slice(1) : '';
  const separator = existing === '' || existing.endsWith('&') ? '' : '&';
  url.search = `${existing}${separator}errorCode=${encodeURIComponent(code)}`;
  return url.href;
}

export { fillTemplate };

export interface ErrorPageInput {
  /** Absent for an unexpected error (no stable code to show). */
  code?: SsoErrorCode | undefined;
  /** The public detail of the error (IdP status code, missing attribute names), if any. */
  detail?: string | undefined;
  correlationId: string;
}

export function renderSsoErrorPage(input: ErrorPageInput): string {
  const code = input.code;
  const title = code ? 'Sign-in failed' : 'Something went wrong';
  return renderPage(title, fillTemplate(view('sso-error.html'), {
    message: code ? SSO_ERROR_EXPLANATIONS[code] : 'An unexpected error stopped the sign-in. It has been logged.',
    code: code ?? 'none',
    detail: input.detail ?? '—',
    correlationId: input.correlationId,
  }));
}
