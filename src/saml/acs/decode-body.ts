/**
 * R-SAML-3, first rule [SSO_MALFORMED]: the SAMLResponse form field is one string of at most
 * 256 KiB of strict base64. Line breaks (RFC 2045 wrapping, which some IdPs send) are dropped;
 * any other character — a space is a `+` the sender forgot to URL-encode — is refused rather
 * than skipped, since Node's base64 decoder would silently ignore it.
 */
import { SsoError } from '../sso-error.js';
import type { DecodedBody, RawBody } from './context.js';

export const MAX_SAML_RESPONSE_BYTES = 256 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeBody(ctx: RawBody): DecodedBody {
  const { samlResponse } = ctx;
  if (samlResponse === undefined || samlResponse === null || samlResponse === '') {
    throw new SsoError('SSO_MALFORMED', 'no SAMLResponse in the request body');
  }
  if (typeof samlResponse !== 'string') {
    throw new SsoError('SSO_MALFORMED', 'SAMLResponse is not a single form field');
  }
  if (samlResponse.length > MAX_SAML_RESPONSE_BYTES) {
    throw new SsoError('SSO_MALFORMED', `SAMLResponse is larger than ${MAX_SAML_RESPONSE_BYTES} bytes`);
  }
  const text = samlResponse.replace(/\r?\n/g, '');
  if (text === '' || !BASE64.test(text)) throw new SsoError('SSO_MALFORMED', 'SAMLResponse is not valid base64');
  return { settings: ctx.settings, deps: ctx.deps, clock: ctx.clock, xml: Buffer.from(text, 'base64') };
}
