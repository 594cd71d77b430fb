/**
 * R-SAML-3, seventh rule [SSO_SUBJECT_CONFIRMATION, SSO_UNSOLICITED]: a bearer
 * SubjectConfirmation whose SubjectConfirmationData has Recipient = this ACS URL, a
 * NotOnOrAfter still in the future (allowing the org's clock skew), no NotBefore in the future
 * (the profile forbids it for bearer), and an InResponseTo — or none, when IdP-initiated
 * sign-in is enabled. When the Response itself was signed, its InResponseTo must agree.
 *
 * This step only checks: the InResponseTo is consumed by consume-request-id, after every
 * other check passed, so a Response refused here cannot burn a pending AuthnRequest.
 */
import type { Element } from '@xmldom/xmldom';
import { attributeValue } from '../../xml/dom.js';
import { NS, SUBJECT_CONFIRMATION_BEARER } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import { skewMs, type VerifiedAssertion, type WithConfirmation } from './context.js';
import { subjectOf } from './read-subject.js';
import { readInstantAttribute } from './saml-instant.js';
import { signedChildElements } from './signed-element.js';

type Confirmation = WithConfirmation['confirmation'];

/** The confirmation `data` establishes, or the reason it does not. */
function evaluate(ctx: VerifiedAssertion, data: Element): Confirmation | string {
  const { settings } = ctx;
  const now = ctx.clock.now();
  const recipient = attributeValue(data, 'Recipient');
  if (recipient === null) return 'SubjectConfirmationData has no Recipient';
  if (recipient !== settings.acsUrl) return `Recipient ${JSON.stringify(recipient.slice(0, 300))} is not this ACS URL ${settings.acsUrl}`;
  const notOnOrAfter = readInstantAttribute(data, 'NotOnOrAfter');
  if (notOnOrAfter === undefined) return 'SubjectConfirmationData has no NotOnOrAfter';
  if (now >= notOnOrAfter + skewMs(settings)) {
    return `SubjectConfirmationData expired at ${new Date(notOnOrAfter).toISOString()} (skew ${settings.clockSkewSeconds}s)`;
  }
  const notBefore = readInstantAttribute(data, 'NotBefore');
  if (notBefore !== undefined && now + skewMs(settings) < notBefore) {
    return `SubjectConfirmationData is not valid before ${new Date(notBefore).toISOString()}`;
  }
  const inResponseTo = attributeValue(data, 'InResponseTo');
  if (inResponseTo === '') return 'InResponseTo is empty';
  return { inResponseTo, notOnOrAfter };
}

export function checkSubjectConfirmation<C extends VerifiedAssertion>(ctx: C): C & WithConfirmation {
  const confirmations = signedChildElements(subjectOf(ctx.assertion), NS.saml, 'SubjectConfirmation');
  const bearer = confirmations.filter((c) => attributeValue(c, 'Method') === SUBJECT_CONFIRMATION_BEARER);
  if (bearer.length === 0) throw new SsoError('SSO_SUBJECT_CONFIRMATION', 'no bearer SubjectConfirmation');

  // saml-profiles §4.1.4.3: one bearer confirmation that satisfies every rule is enough.
  let firstProblem: string | undefined;
  let confirmation: Confirmation | undefined;
  for (const candidate of bearer) {
    const data = signedChildElements(candidate, NS.saml, 'SubjectConfirmationData');
    const result = data.length === 1 ? evaluate(ctx, data[0]!) : `bearer SubjectConfirmation has ${data.length} SubjectConfirmationData elements`;
    if (typeof result !== 'string') {
      confirmation = result;
      break;
    }
    firstProblem ??= result;
  }
  if (!confirmation) throw new SsoError('SSO_SUBJECT_CONFIRMATION', firstProblem ?? 'no usable bearer SubjectConfirmation');

  const { responseInResponseTo } = ctx;
  if (responseInResponseTo !== undefined && responseInResponseTo !== null && responseInResponseTo !== confirmation.inResponseTo) {
    throw new SsoError('SSO_SUBJECT_CONFIRMATION', 'the signed Response and its SubjectConfirmation answer different requests');
  }
  if (confirmation.inResponseTo === null && !ctx.settings.idpInitiated) {
    throw new SsoError('SSO_UNSOLICITED', 'the Response answers no AuthnRequest and IdP-initiated sign-in is off');
  }
  return { ...ctx, confirmation };
}
