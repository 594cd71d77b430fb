/**
 * RFC 7522 §3 checks of a SAML 2.0 bearer assertion presented at the token endpoint, as
 * R-SAML-3 checks an assertion at the ACS (SPEC R-OAUTH-3). Pure: the grant
 * (saml-bearer-grant.ts) parses, picks the org, verifies the signature with the org's pinned
 * keys and hands the SIGNED content here — nothing is ever read from the document as received
 * except the Issuer used to choose which keys to try.
 *
 * Refusals are `SsoError`s with the ACS's codes, so logs read the same for both paths.
 */
import type { Document, Element } from '@xmldom/xmldom';
import { NS, SUBJECT_CONFIRMATION_BEARER } from '../saml/namespaces.js';
import { nameIdFormatMatches, type NameIdFormat } from '../saml/name-id-formats.js';
import { SsoError } from '../saml/sso-error.js';
import { attributeValue, childElements, firstChildElement, textContent } from '../xml/dom.js';
import { parseXmlStrict } from '../xml/strict-parser.js';

/** RFC 7522 §2.1: the assertion parameter is base64url; we also take padded standard base64. */
const BASE64_ANY = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Same bound as the ACS body: an assertion is a few kilobytes. */
export const MAX_BEARER_ASSERTION_BYTES = 256 * 1024;

export interface ParsedBearerAssertion {
  document: Document;
  assertion: Element;
  /** Read BEFORE verification, only to choose whose keys to verify with. */
  unverifiedIssuer: string;
}

export interface BearerExpectations {
  idpEntityId: string;
  /** Acceptable Audience and Recipient values: the token endpoint URL and the SP entity id. */
  audiences: readonly string[];
  nameIdFormat: NameIdFormat;
  authnContextClassRef: string | null;
  now: number;
  skewMs: number;
}

export interface BearerAssertionFacts {
  assertionId: string;
  nameId: string;
  nameIdFormat: string | null;
  /** The latest instant the assertion can be accepted (for the replay cache). */
  notOnOrAfter: number;
  /** Attributes by name (first value), for ssoid lookup. */
  attributes: Record<string, string>;
}

function malformed(reason: string): SsoError {
  return new SsoError('SSO_MALFORMED', reason);
}

/** Decodes and parses the `assertion` parameter; the root must be one saml:Assertion. */
export function parseBearerAssertion(param: string): ParsedBearerAssertion {
  if (param.length === 0 || param.length > (MAX_BEARER_ASSERTION_BYTES * 4) / 3 + 4 || !BASE64_ANY.test(param)) {
    throw malformed('assertion parameter is not base64url of at most 256 KiB');
  }
  const xml = Buffer.from(param.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const document = parseXmlStrict(xml, { maxBytes: MAX_BEARER_ASSERTION_BYTES });
  const assertion = document.documentElement;
  if (!assertion || assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') {
    throw malformed('the assertion parameter must hold one saml:Assertion');
  }
  const issuer = firstChildElement(assertion, NS.saml, 'Issuer');
  if (!issuer) throw new SsoError('SSO_ISSUER', 'assertion has no Issuer');
  return { document, assertion, unverifiedIssuer: textContent(issuer).trim() };
}

function instant(el: Element, name: string): number | undefined {
  const v = attributeValue(el, name);
  if (v === null) return undefined;
  // xs:dateTime in UTC as SAML requires; anything unparsable is refused, never ignored.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) throw malformed(`${name} is not a UTC xs:dateTime`);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw malformed(`${name} is not a valid instant`);
  return t;
}

/**
 * Checks the verified assertion against RFC 7522 §3 / R-SAML-3 and returns what the grant
 * needs. `signed` must be the element returned by verifySignedElement.
 */
export function checkBearerAssertion(signed: Element, exp: BearerExpectations): BearerAssertionFacts {
  if (signed.namespaceURI !== NS.saml || signed.localName !== 'Assertion') throw malformed('signed content is not a saml:Assertion');
  if (attributeValue(signed, 'Version') !== '2.0') throw malformed('assertion Version is not 2.0');
  const assertionId = attributeValue(signed, 'ID');
  if (!assertionId) throw malformed('assertion has no ID');

  // §3 item 1: Issuer.
  const issuerEl = firstChildElement(signed, NS.saml, 'Issuer');
  const issuer = issuerEl ? textContent(issuerEl).trim() : '';
  if (issuer !== exp.idpEntityId) throw new SsoError('SSO_ISSUER', `assertion Issuer ${JSON.stringify(issuer)} is not the configured IdP`);

  // §3 item 2: Subject with a NameID.
  const subject = firstChildElement(signed, NS.saml, 'Subject');
  if (!subject) throw new SsoError('SSO_NAMEID', 'assertion has no Subject');
  if (firstChildElement(subject, NS.saml, 'EncryptedID')) {
    throw new SsoError('SSO_NAMEID', 'EncryptedID is not accepted in a bearer assertion grant');
  }
  const nameIdEl = firstChildElement(subject, NS.saml, 'NameID');
  const nameId = nameIdEl ? textContent(nameIdEl).trim() : '';
  if (!nameIdEl || nameId === '') throw new SsoError('SSO_NAMEID', 'assertion Subject has no NameID');
  const nameIdFormat = attributeValue(nameIdEl, 'Format');
  if (!nameIdFormatMatches(exp.nameIdFormat, nameIdFormat)) {
    throw new SsoError('SSO_NAMEID', `NameID format ${nameIdFormat ?? '(none)'} is not the configured ${exp.nameIdFormat}`);
  }

  // §3 items 3 and 4: a bearer SubjectConfirmation for us, not expired.
  const audiences = new Set(exp.audiences);
  let confirmedUntil: number | undefined;
  const reasons: string[] = [];
  for (const sc of childElements(subject, NS.saml, 'SubjectConfirmation')) {
    if (attributeValue(sc, 'Method') !== SUBJECT_CONFIRMATION_BEARER) {
      reasons.push('method is not bearer');
      continue;
    }
    const data = firstChildElement(sc, NS.saml, 'SubjectConfirmationData');
    if (!data) {
      reasons.push('no SubjectConfirmationData');
      continue;
    }
    const recipient = attributeValue(data, 'Recipient');
    const notOnOrAfter = instant(data, 'NotOnOrAfter');
    const notBefore = instant(data, 'NotBefore');
    if (recipient === null || !audiences.has(recipient)) {
      reasons.push(`Recipient ${JSON.stringify(recipient)} is neither the token endpoint nor the SP entity id`);
    } else if (notOnOrAfter === undefined) {
      reasons.push('no NotOnOrAfter');
    } else if (exp.now - exp.skewMs >= notOnOrAfter) {
      reasons.push('SubjectConfirmationData has expired');
    } else if (notBefore !== undefined && exp.now + exp.skewMs < notBefore) {
      reasons.push('SubjectConfirmationData is not yet valid');
    } else {
      confirmedUntil = notOnOrAfter;
      break;
    }
  }
  if (confirmedUntil === undefined) {
    throw new SsoError('SSO_SUBJECT_CONFIRMATION', `no usable bearer SubjectConfirmation (${reasons.join('; ') || 'none present'})`);
  }

  // §3 items 3 and 4 (Conditions): validity window and our audience.
  const conditions = firstChildElement(signed, NS.saml, 'Conditions');
  if (!conditions) throw new SsoError('SSO_AUDIENCE', 'assertion has no Conditions/AudienceRestriction');
  const notBefore = instant(conditions, 'NotBefore');
  const notOnOrAfter = instant(conditions, 'NotOnOrAfter');
  if (notBefore !== undefined && exp.now + exp.skewMs < notBefore) throw new SsoError('SSO_EXPIRED', 'assertion is not yet valid');
  if (notOnOrAfter !== undefined && exp.now - exp.skewMs >= notOnOrAfter) throw new SsoError('SSO_EXPIRED', 'assertion has expired');
  const restrictions = childElements(conditions, NS.saml, 'AudienceRestriction');
  if (restrictions.length === 0) throw new SsoError('SSO_AUDIENCE', 'assertion has no AudienceRestriction');
  // Every AudienceRestriction must name us (SAML core §2.5.1.4: they are ANDed).
  for (const r of restrictions) {
    const values = childElements(r, NS.saml, 'Audience').map((a) => textContent(a).trim());
    if (!values.some((v) => audiences.has(v))) {
      throw new SsoError('SSO_AUDIENCE', `AudienceRestriction ${JSON.stringify(values)} names neither the token endpoint nor the SP entity id`);
    }
  }

  // R-SAML-3: an AuthnStatement, with the configured context class when one is set.
  const authn = firstChildElement(signed, NS.saml, 'AuthnStatement');
  if (!authn) throw new SsoError('SSO_AUTHN_CONTEXT', 'assertion has no AuthnStatement');
  if (exp.authnContextClassRef !== null) {
    const ctxEl = firstChildElement(authn, NS.saml, 'AuthnContext');
    const ref = ctxEl && firstChildElement(ctxEl, NS.saml, 'AuthnContextClassRef');
    const value = ref ? textContent(ref).trim() : '';
    if (value !== exp.authnContextClassRef) throw new SsoError('SSO_AUTHN_CONTEXT', `AuthnContextClassRef ${JSON.stringify(value)} is not the configured one`);
  }

  const attributes: Record<string, string> = {};
  for (const st of childElements(signed, NS.saml, 'AttributeStatement')) {
    for (const a of childElements(st, NS.saml, 'Attribute')) {
      const name = attributeValue(a, 'Name');
      const first = childElements(a, NS.saml, 'AttributeValue')[0];
      if (name && first && !(name in attributes)) attributes[name] = textContent(first).trim();
    }
  }

  return {
    assertionId,
    nameId,
    nameIdFormat,
    notOnOrAfter: notOnOrAfter === undefined ? confirmedUntil : Math.max(confirmedUntil, notOnOrAfter),
    attributes,
  };
}
