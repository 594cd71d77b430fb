/**
 * SAML 2.0 Single Logout messages (saml-core-2.0-os §3.7; R-SAML-9): building our
 * LogoutRequest and LogoutResponse, and reading the IdP's from already verified content.
 * Built as DOM and serialized (values always escaped); read by namespace-aware DOM walk.
 * Pure: no I/O, times passed in.
 *
 * Checks that need only the message and the settings live here too (`checkLogoutMessage`):
 * the root element and Version, Issuer = the IdP entity id, Destination (when present) = our
 * SLO URL, IssueInstant fresh within the skew, a LogoutRequest's NotOnOrAfter not passed.
 */
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import { attributeValue, childElements, firstChildElement, isElementNamed, textContent } from '../../xml/dom.js';
import { toSamlInstant } from '../authn-request.js';
import { NS, STATUS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';

export interface LogoutRequestInput {
  id: string;
  issueInstant: number;
  destination: string;
  issuer: string;
  nameId: string;
  nameIdFormat?: string | null | undefined;
  sessionIndex?: string | null | undefined;
  /** Default issueInstant + 10 minutes. */
  notOnOrAfter?: number | undefined;
}

export interface LogoutResponseInput {
  id: string;
  issueInstant: number;
  destination: string;
  issuer: string;
  inResponseTo: string;
  /** Default Success. */
  statusCode?: string | undefined;
}

const NCNAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const DEFAULT_VALIDITY_MS = 10 * 60_000;

function newDocument(rootName: 'samlp:LogoutRequest' | 'samlp:LogoutResponse', id: string, issueInstant: number, destination: string) {
  if (!NCNAME.test(id)) throw new TypeError('id must be an xs:ID (NCName)');
  const doc = new DOMImplementation().createDocument(NS.samlp, rootName, null);
  const root = doc.documentElement!;
  root.setAttributeNS(NS.xmlns, 'xmlns:samlp', NS.samlp);
  root.setAttributeNS(NS.xmlns, 'xmlns:saml', NS.saml);
  root.setAttribute('ID', id);
  root.setAttribute('Version', '2.0');
  root.setAttribute('IssueInstant', toSamlInstant(issueInstant));
  root.setAttribute('Destination', destination);
  return { doc, root };
}

function text(doc: ReturnType<typeof newDocument>['doc'], ns: string, qname: string, value: string): Element {
  const el = doc.createElementNS(ns, qname);
  el.appendChild(doc.createTextNode(value));
  return el;
}

/** Our LogoutRequest to the IdP: Issuer, NameID (as the IdP issued it), SessionIndex. */
export function buildLogoutRequest(input: LogoutRequestInput): string {
  const { doc, root } = newDocument('samlp:LogoutRequest', input.id, input.issueInstant, input.destination);
  root.setAttribute('NotOnOrAfter', toSamlInstant(input.notOnOrAfter ?? input.issueInstant + DEFAULT_VALIDITY_MS));
  root.appendChild(text(doc, NS.saml, 'saml:Issuer', input.issuer));
  const nameId = text(doc, NS.saml, 'saml:NameID', input.nameId);
  if (input.nameIdFormat) nameId.setAttribute('Format', input.nameIdFormat);
  root.appendChild(nameId);
  if (input.sessionIndex) root.appendChild(text(doc, NS.samlp, 'samlp:SessionIndex', input.sessionIndex));
  return new XMLSerializer().serializeToString(doc);
}

/** Our LogoutResponse to an IdP-initiated LogoutRequest. */
export function buildLogoutResponse(input: LogoutResponseInput): string {
  const { doc, root } = newDocument('samlp:LogoutResponse', input.id, input.issueInstant, input.destination);
  root.setAttribute('InResponseTo', input.inResponseTo);
  root.appendChild(text(doc, NS.saml, 'saml:Issuer', input.issuer));
  const status = doc.createElementNS(NS.samlp, 'samlp:Status');
  const code = doc.createElementNS(NS.samlp, 'samlp:StatusCode');
  code.setAttribute('Value', input.statusCode ?? STATUS.success);
  status.appendChild(code);
  root.appendChild(status);
  return new XMLSerializer().serializeToString(doc);
}

export interface LogoutRequestMessage {
  kind: 'LogoutRequest';
  id: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  /** Every SessionIndex (none: all of the principal's sessions). */
  sessionIndexes: string[];
}

export interface LogoutResponseMessage {
  kind: 'LogoutResponse';
  id: string;
  issuer: string;
  inResponseTo: string | null;
  statusCode: string;
}

export type LogoutMessage = LogoutRequestMessage | LogoutResponseMessage;

export interface LogoutCheckSettings {
  idpEntityId: string;
  /** Our SLO URL: a present Destination must equal it. */
  sloUrl: string;
  now: number;
  clockSkewSeconds: number;
}

/** Messages older than this (plus skew) are refused: a captured logout message cannot be replayed later. */
export const MAX_MESSAGE_AGE_MS = 10 * 60_000;

function instant(value: string | null, what: string): number {
  if (value === null) throw new SsoError('SSO_MALFORMED', `${what} is missing`);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(ms)) {
    throw new SsoError('SSO_MALFORMED', `${what} is not a UTC xs:dateTime`);
  }
  return ms;
}

/**
 * Reads and checks a LogoutRequest or LogoutResponse from VERIFIED content (the verifier's
 * element for POST, the parsed message whose query signature verified for Redirect). Throws
 * SsoError with SSO_MALFORMED, SSO_ISSUER, SSO_DESTINATION or SSO_EXPIRED.
 */
export function readLogoutMessage(root: Element, settings: LogoutCheckSettings): LogoutMessage {
  const rootName = `<${root.localName}> in ${root.namespaceURI ?? 'no namespace'}`;
  const isRequest = isElementNamed(root, NS.samlp, 'LogoutRequest');
  const isResponse = isElementNamed(root, NS.samlp, 'LogoutResponse');
  if (!isRequest && !isResponse) {
    throw new SsoError('SSO_MALFORMED', `expected samlp:LogoutRequest or samlp:LogoutResponse, got ${rootName}`);
  }
  if (attributeValue(root, 'Version') !== '2.0') throw new SsoError('SSO_MALFORMED', 'Version is not 2.0');
  const id = attributeValue(root, 'ID');
  if (!id) throw new SsoError('SSO_MALFORMED', 'ID is missing');

  const issuerEl = firstChildElement(root, NS.saml, 'Issuer');
  const issuer = issuerEl ? textContent(issuerEl).trim() : '';
  if (issuer !== settings.idpEntityId) {
    throw new SsoError('SSO_ISSUER', `Issuer ${JSON.stringify(issuer.slice(0, 200))} is not the IdP entity id`);
  }
  const destination = attributeValue(root, 'Destination');
  if (destination !== null && destination !== settings.sloUrl) {
    throw new SsoError('SSO_DESTINATION', `Destination ${JSON.stringify(destination.slice(0, 200))} is not this SLO URL`);
  }
  const skew = settings.clockSkewSeconds * 1000;
  const issued = instant(attributeValue(root, 'IssueInstant'), 'IssueInstant');
  if (issued > settings.now + skew) throw new SsoError('SSO_EXPIRED', 'IssueInstant is in the future');
  if (issued < settings.now - skew - MAX_MESSAGE_AGE_MS) throw new SsoError('SSO_EXPIRED', 'the logout message is too old');

  if (isResponse) {
    const status = firstChildElement(root, NS.samlp, 'Status');
    const code = status ? firstChildElement(status, NS.samlp, 'StatusCode') : null;
    const statusCode = code ? attributeValue(code, 'Value') : null;
    if (!statusCode) throw new SsoError('SSO_MALFORMED', 'LogoutResponse has no StatusCode');
    return { kind: 'LogoutResponse', id, issuer, inResponseTo: attributeValue(root, 'InResponseTo'), statusCode };
  }

  const notOnOrAfter = attributeValue(root, 'NotOnOrAfter');
  if (notOnOrAfter !== null && instant(notOnOrAfter, 'NotOnOrAfter') <= settings.now - skew) {
    throw new SsoError('SSO_EXPIRED', 'the LogoutRequest has expired (NotOnOrAfter)');
  }
  if (firstChildElement(root, NS.saml, 'EncryptedID')) {
    throw new SsoError('SSO_NAMEID', 'an encrypted NameID in a LogoutRequest is not supported');
  }
  const nameIdEl = firstChildElement(root, NS.saml, 'NameID');
  const nameId = nameIdEl ? textContent(nameIdEl).trim() : '';
  if (!nameIdEl || nameId === '') throw new SsoError('SSO_NAMEID', 'the LogoutRequest names no NameID');
  return {
    kind: 'LogoutRequest',
    id,
    issuer,
    nameId,
    nameIdFormat: attributeValue(nameIdEl, 'Format'),
    sessionIndexes: childElements(root, NS.samlp, 'SessionIndex').map((el) => textContent(el).trim()).filter(Boolean),
  };
}
