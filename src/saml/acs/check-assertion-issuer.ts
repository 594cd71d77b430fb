/**
 * R-SAML-3, sixth rule [SSO_ISSUER]: the signed Assertion's Issuer (mandatory, saml-core
 * §2.3.3) is the configured IdP entity id — a certificate trusted by this org cannot vouch
 * for assertions it says come from another issuer.
 */
import { SsoError } from '../sso-error.js';
import type { VerifiedAssertion, WithIssuer } from './context.js';
import { readIssuer, requireConfiguredIssuer } from './issuer-element.js';

export function checkAssertionIssuer<C extends VerifiedAssertion>(ctx: C): C & WithIssuer {
  const issuer = readIssuer(ctx.assertion, 'Assertion');
  if (issuer === null) throw new SsoError('SSO_ISSUER', 'Assertion has no Issuer');
  requireConfiguredIssuer(issuer, ctx.settings.idpEntityId, 'Assertion');
  return { ...ctx, issuer };
}
