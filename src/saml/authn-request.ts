/**
 * Builds the SAML 2.0 AuthnRequest of SP-initiated sign-in (R-SAML-2). Built as a DOM and
 * serialized, never by string concatenation, so configured values (entity ids, URLs, the
 * AuthnContextClassRef) are always escaped and cannot inject markup.
 */
import { randomBytes } from 'node:crypto';
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import { BINDING, NS } from './namespaces.js';
import { type NameIdFormat, nameIdFormatToUrn } from './name-id-formats.js';

export interface AuthnRequestInput {
  /** xs:ID of the request; see {@link newSamlId}. Stored by the caller for InResponseTo. */
  id: string;
  /** Milliseconds since the epoch, from the injected Clock. */
  issueInstant: number;
  /** The IdP's SSO service URL the request is sent to. */
  destination: string;
  /** This SP's ACS URL for the organisation. */
  acsUrl: string;
  spEntityId: string;
  nameIdFormat: NameIdFormat;
  /** When set, RequestedAuthnContext Comparison="exact" with this class. */
  authnContextClassRef?: string | undefined;
  forceAuthn?: boolean | undefined;
}

/** A fresh SAML ID: `_` (an xs:ID cannot start with a digit) followed by 160 random bits in hex. */
export function newSamlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

const NCNAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** xs:dateTime in UTC at second precision, the form every IdP accepts. */
export function toSamlInstant(ms: number): string {
  if (!Number.isFinite(ms)) throw new TypeError('instant must be a finite number of milliseconds');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Characters XML 1.0 cannot carry at all; the serializer would emit them and the IdP reject the request.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function requireText(name: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
  if (NOT_XML_CHAR.test(value)) throw new TypeError(`${name} contains characters XML cannot carry`);
}

export function buildAuthnRequest(input: AuthnRequestInput): string {
  if (!NCNAME.test(input.id)) throw new TypeError('id must be an xs:ID (NCName)');
  requireText('destination', input.destination);
  requireText('acsUrl', input.acsUrl);
  requireText('spEntityId', input.spEntityId);

  const doc = new DOMImplementation().createDocument(NS.samlp, 'samlp:AuthnRequest', null);
  const root = doc.documentElement!;
  root.setAttributeNS(NS.xmlns, 'xmlns:samlp', NS.samlp);
  root.setAttributeNS(NS.xmlns, 'xmlns:saml', NS.saml);
  // Attribute order follows the schema's declaration order, for readability of logs.
  root.setAttribute('ID', input.id);
  root.setAttribute('Version', '2.0');
  root.setAttribute('IssueInstant', toSamlInstant(input.issueInstant));
  root.setAttribute('Destination', input.destination);
  if (input.forceAuthn) root.setAttribute('ForceAuthn', 'true');
  root.setAttribute('ProtocolBinding', BINDING.httpPost);
  root.setAttribute('AssertionConsumerServiceURL', input.acsUrl);

  // Child order is fixed by the schema: Issuer, (Signature), NameIDPolicy, RequestedAuthnContext.
  const issuer = doc.createElementNS(NS.saml, 'saml:Issuer');
  issuer.appendChild(doc.createTextNode(input.spEntityId));
  root.appendChild(issuer);

  const policy = doc.createElementNS(NS.samlp, 'samlp:NameIDPolicy');
  policy.setAttribute('Format', nameIdFormatToUrn(input.nameIdFormat));
  policy.setAttribute('AllowCreate', 'true');
  root.appendChild(policy);

  if (input.authnContextClassRef !== undefined && input.authnContextClassRef !== '') {
    requireText('authnContextClassRef', input.authnContextClassRef);
    const requested = doc.createElementNS(NS.samlp, 'samlp:RequestedAuthnContext');
    requested.setAttribute('Comparison', 'exact');
    const classRef = doc.createElementNS(NS.saml, 'saml:AuthnContextClassRef');
    classRef.appendChild(doc.createTextNode(input.authnContextClassRef));
    requested.appendChild(classRef);
    root.appendChild(requested);
  }

  return new XMLSerializer().serializeToString(doc);
}
