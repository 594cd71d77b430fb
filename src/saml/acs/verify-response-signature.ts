/**
 * R-SAML-3, fifth rule and R-SAML-10 [SSO_SIGNATURE, SSO_WEAK_ALGORITHM]: when the Response
 * carries a direct ds:Signature, it must verify under the strict profile with a pinned IdP
 * key — and from then on the working Response is the one re-parsed from the signed canonical
 * octets, not the received one, so wrapping or comment tricks around it cannot change what
 * the later steps read. An unsigned Response passes on unchanged (its Assertion must then be
 * signed: verify-assertion-signature).
 */
import { findDirectSignature, verifySignedElement } from '../../xml/signed-content-verifier.js';
import { isElementNamed } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { ReceivedResponse, ResponseVerified } from './context.js';
import { trustAsSigned } from './signed-element.js';

export async function verifyResponseSignature(ctx: ReceivedResponse): Promise<ResponseVerified> {
  const base = { settings: ctx.settings, deps: ctx.deps, clock: ctx.clock };
  if (!findDirectSignature(ctx.response)) return { ...base, response: { covered: false, element: ctx.response } };

  const keys = await ctx.deps.idpVerificationKeys();
  const verified = verifySignedElement(ctx.response, keys, { allowSha1: ctx.settings.allowSha1 });
  if (!isElementNamed(verified.element, NS.samlp, 'Response')) {
    throw new SsoError('SSO_SIGNATURE', 'the signed content is not a samlp:Response');
  }
  return { ...base, response: { covered: true, element: trustAsSigned(verified.element) } };
}
