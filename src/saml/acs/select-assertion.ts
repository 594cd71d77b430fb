/**
 * R-SAML-3, fourth rule [SSO_MALFORMED]: the Response holds exactly one assertion — one
 * saml:Assertion child or one EncryptedAssertion, not both, not two. Only direct children
 * count: an Assertion hidden deeper (in Extensions, in another element) is never consumed.
 *
 * When the one EncryptedAssertion sits in an unsigned Response, a refusal here is
 * SSO_DECRYPT instead, like every refusal of its decryption (see decrypt-assertion.ts: no
 * padding/parse oracle on unauthenticated ciphertext).
 */
import { childElements } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { AssertionDecrypted, AssertionSelected, Covered } from './context.js';
import { unauthenticatedDecryptFailure } from './decrypt-assertion.js';
import { signedChildElements } from './signed-element.js';

export function selectAssertion(ctx: AssertionDecrypted): AssertionSelected {
  const { response } = ctx;
  const plain: Covered[] = response.covered
    ? signedChildElements(response.element, NS.saml, 'Assertion').map((element) => ({ covered: true, element }))
    : childElements(response.element, NS.saml, 'Assertion').map((element) => ({ covered: false, element }));
  const candidates = ctx.decrypted ? [...plain, ctx.decrypted] : plain;
  if (candidates.length !== 1) {
    const refusal = new SsoError(
      'SSO_MALFORMED',
      `Response holds ${plain.length} Assertion(s) and ${ctx.decrypted ? 1 : 0} EncryptedAssertion(s); exactly one assertion is required`,
    );
    throw ctx.decrypted && !ctx.decrypted.covered ? unauthenticatedDecryptFailure(refusal) : refusal;
  }
  return { settings: ctx.settings, deps: ctx.deps, clock: ctx.clock, response, assertion: candidates[0]! };
}
