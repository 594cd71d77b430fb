/**
 * Unsigned SAML 2.0 Response / Assertion shaped documents for the verifier tests; sign them with
 * test/support/xml-signing.ts. Realistic enough for node-saml to accept a signed Response.
 */
export interface SamlFixture {
  responseId?: string;
  assertionId?: string;
  issuer?: string;
  nameId?: string;
  /** Raw XML placed inside NameID instead of the escaped `nameId`. */
  nameIdXml?: string;
  destination?: string;
  audience?: string;
  now?: Date;
  /** Extra xmlns declarations on the root (e.g. for InclusiveNamespaces tests). */
  rootNamespaces?: Record<string, string>;
  /** XML placed in the Response before the Assertion (Extensions etc.). */
  beforeAssertion?: string;
}

export const IDP_ENTITY_ID = 'https://idp.example.org/metadata';
export const SP_ENTITY_ID = 'https://sp.fedbridge.test/sso/example.com';
export const ACS_URL = 'https://sp.fedbridge.test/sso/example.com/saml/acs';

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An Assertion element (with its own xmlns), to embed or to sign on its own. */
export function samlAssertionXml(f: SamlFixture = {}): string {
  const now = f.now ?? new Date();
  const later = new Date(now.getTime() + 5 * 60_000);
  const before = new Date(now.getTime() - 60_000);
  const nameId = f.nameIdXml ?? escapeText(f.nameId ?? 'alice@example.com');
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${f.assertionId ?? '_assertion-1'}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${f.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${nameId}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(later)}" Recipient="${f.destination ?? ACS_URL}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(before)}" NotOnOrAfter="${iso(later)}"><saml:AudienceRestriction><saml:Audience>${f.audience ?? SP_ENTITY_ID}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_session-1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue xsi:type="xs:string">alice@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
    `</saml:Assertion>`
  );
}

/** A samlp:Response carrying one Assertion. */
export function samlResponseXml(f: SamlFixture = {}): string {
  const now = f.now ?? new Date();
  const extraNs = Object.entries(f.rootNamespaces ?? {})
    .map(([p, uri]) => ` xmlns:${p}="${uri}"`)
    .join('');
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"${extraNs} ID="${f.responseId ?? '_response-1'}" Version="2.0" IssueInstant="${iso(now)}" Destination="${f.destination ?? ACS_URL}">` +
    `<saml:Issuer>${f.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    (f.beforeAssertion ?? '') +
    samlAssertionXml(f) +
    `</samlp:Response>`
  );
}
