/**
 * R-SAML-3, eighth rule [SSO_EXPIRED]: the signed Conditions' NotBefore and NotOnOrAfter hold
 * now, allowing the org's clock skew either way. Conditions are optional in SAML core; the
 * audience rule (check-audience) is what makes their absence fatal.
 */
import { SsoError } from '../sso-error.js';
import { NS } from '../namespaces.js';
import { skewMs, type VerifiedAssertion, type WithConditions } from './context.js';
import { readInstantAttribute } from './saml-instant.js';
import { signedChildElements, type SignedElement } from './signed-element.js';

/** The one Conditions element, or null; SSO_MALFORMED when repeated (the schema allows one). */
export function conditionsOf(assertion: SignedElement): SignedElement | null {
  const all = signedChildElements(assertion, NS.saml, 'Conditions');
  if (all.length > 1) throw new SsoError('SSO_MALFORMED', `Assertion has ${all.length} Conditions elements`);
  return all[0] ?? null;
}

export function checkConditions<C extends VerifiedAssertion>(ctx: C): C & WithConditions {
  const conditions = conditionsOf(ctx.assertion);
  if (!conditions) return { ...ctx, conditions: { notBefore: null, notOnOrAfter: null } };
  const now = ctx.clock.now();
  const skew = skewMs(ctx.settings);
  const notBefore = readInstantAttribute(conditions, 'NotBefore') ?? null;
  const notOnOrAfter = readInstantAttribute(conditions, 'NotOnOrAfter') ?? null;
  if (notBefore !== null && now + skew < notBefore) {
    throw new SsoError('SSO_EXPIRED', `assertion not valid before ${new Date(notBefore).toISOString()} (skew ${ctx.settings.clockSkewSeconds}s)`);
  }
  if (notOnOrAfter !== null && now >= notOnOrAfter + skew) {
    throw new SsoError('SSO_EXPIRED', `assertion expired at ${new Date(notOnOrAfter).toISOString()} (skew ${ctx.settings.clockSkewSeconds}s)`);
  }
  return { ...ctx, conditions: { notBefore, notOnOrAfter } };
}
