/**
 * R-SAML-3, third rule [SSO_ISSUER]: the Response's Issuer is the configured IdP entity id.
 * The Response Issuer is optional in the Web Browser SSO profile (saml-profiles §4.1.4.2:
 * "MAY be omitted, but if present…"), so an absent one passes here; the Assertion's Issuer,
 * which is mandatory and signed, is checked by check-assertion-issuer.
 */
import type { ReceivedResponse } from './context.js';
import { readIssuer, requireConfiguredIssuer } from './issuer-element.js';

export function checkResponseIssuer<C extends ReceivedResponse>(ctx: C): C {
  const issuer = readIssuer(ctx.response, 'Response');
  if (issuer !== null) requireConfiguredIssuer(issuer, ctx.settings.idpEntityId, 'Response');
  return ctx;
}
