/**
 * R-SAML-3, ninth rule [SSO_AUTHN_CONTEXT]: the signed Assertion has an AuthnStatement; when
 * the org configured an AuthnContextClassRef, the statement's class is exactly that one.
 * Also reads SessionIndex (for Single Logout) and SessionNotOnOrAfter (which caps the session,
 * R-SAML-6); an IdP session already over refuses the sign-in [SSO_EXPIRED].
 */
import { attributeValue, textContent } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { VerifiedAssertion, WithAuthnStatement } from './context.js';
import { readInstantAttribute } from './saml-instant.js';
import { signedChildElements } from './signed-element.js';

export function checkAuthnStatement<C extends VerifiedAssertion>(ctx: C): C & WithAuthnStatement {
  const statement = signedChildElements(ctx.assertion, NS.saml, 'AuthnStatement')[0];
  if (!statement) throw new SsoError('SSO_AUTHN_CONTEXT', 'assertion has no AuthnStatement');

  const context = signedChildElements(statement, NS.saml, 'AuthnContext')[0];
  const classRefEl = context ? signedChildElements(context, NS.saml, 'AuthnContextClassRef')[0] : undefined;
  const authnContextClassRef = classRefEl ? textContent(classRefEl).trim() : null;
  const required = ctx.settings.authnContextClassRef;
  if (required !== null && authnContextClassRef !== required) {
    throw new SsoError(
      'SSO_AUTHN_CONTEXT',
      `AuthnContextClassRef ${JSON.stringify(authnContextClassRef?.slice(0, 300) ?? '(none)')} is not the required ${required}`,
    );
  }

  const sessionNotOnOrAfter = readInstantAttribute(statement, 'SessionNotOnOrAfter');
  if (sessionNotOnOrAfter !== undefined && sessionNotOnOrAfter <= ctx.clock.now()) {
    throw new SsoError('SSO_EXPIRED', `the IdP session ended at ${new Date(sessionNotOnOrAfter).toISOString()}`);
  }
  const sessionIndex = attributeValue(statement, 'SessionIndex');
  return {
    ...ctx,
    authn: { authnContextClassRef, sessionIndex: sessionIndex === '' ? null : sessionIndex, sessionNotOnOrAfter },
  };
}
