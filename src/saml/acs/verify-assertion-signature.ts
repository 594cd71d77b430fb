/**
 * R-SAML-3, fifth rule and R-SAML-10 [SSO_SIGNATURE, SSO_WEAK_ALGORITHM]: the Assertion is
 * signed content — by its own signature (verified here, and replaced by its re-parsed signed
 * form) or by the Response's (verified earlier). Neither → refused. An Assertion that carries
 * a signature inside a signed Response must verify as well: a broken signature is never
 * ignored.
 *
 * The context this step returns holds the signed Assertion and nothing else of the received
 * document: every later step reads only signed content.
 */
import { attributeValue, isElementNamed } from '../../xml/dom.js';
import { findDirectSignature, verifySignedElement } from '../../xml/signed-content-verifier.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { AssertionSelected, VerifiedAssertion } from './context.js';
import { trustAsSigned, type SignedElement } from './signed-element.js';

export async function verifyAssertionSignature(ctx: AssertionSelected): Promise<VerifiedAssertion> {
  const { assertion, response } = ctx;
  let signed: SignedElement;
  let assertionSigned = false;
  if (findDirectSignature(assertion.element)) {
    const keys = await ctx.deps.idpVerificationKeys();
    const verified = verifySignedElement(assertion.element, keys, { allowSha1: ctx.settings.allowSha1 });
    if (!isElementNamed(verified.element, NS.saml, 'Assertion')) {
      throw new SsoError('SSO_SIGNATURE', 'the signed content is not a saml:Assertion');
    }
    signed = trustAsSigned(verified.element);
    assertionSigned = true;
  } else if (assertion.covered) {
    signed = assertion.element;
  } else {
    throw new SsoError('SSO_SIGNATURE', 'neither the Response nor the Assertion is signed');
  }

  const version = attributeValue(signed, 'Version');
  if (version !== '2.0') throw new SsoError('SSO_MALFORMED', `Assertion Version is ${JSON.stringify(version)}, not "2.0"`);
  const assertionId = attributeValue(signed, 'ID');
  if (!assertionId) throw new SsoError('SSO_MALFORMED', 'Assertion has no ID');

  return {
    settings: ctx.settings,
    deps: ctx.deps,
    clock: ctx.clock,
    assertion: signed,
    assertionId,
    signedBy: { response: response.covered, assertion: assertionSigned },
    responseInResponseTo: response.covered ? attributeValue(response.element, 'InResponseTo') : undefined,
  };
}
