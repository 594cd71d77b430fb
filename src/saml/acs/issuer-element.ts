/**
 * Reading a saml:Issuer (saml-core §2.2.5) for the two issuer checks: at most one, its Format
 * absent or `entity` (saml-profiles §4.1.4.2), its value compared as an opaque string after
 * trimming surrounding whitespace (never part of an entity id).
 */
import type { Element } from '@xmldom/xmldom';
import { attributeValue, childElements, textContent } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { NAME_ID_FORMAT_URN } from '../name-id-formats.js';
import { SsoError } from '../sso-error.js';

/** The Issuer of `parent`, or null when it has none; SSO_ISSUER when it is not usable. */
export function readIssuer(parent: Element, what: string): string | null {
  const issuers = childElements(parent, NS.saml, 'Issuer');
  if (issuers.length === 0) return null;
  if (issuers.length > 1) throw new SsoError('SSO_ISSUER', `${what} has ${issuers.length} Issuer elements`);
  const issuer = issuers[0]!;
  const format = attributeValue(issuer, 'Format');
  if (format !== null && format !== NAME_ID_FORMAT_URN.entity) {
    throw new SsoError('SSO_ISSUER', `${what} Issuer Format ${JSON.stringify(format.slice(0, 200))} is not entity`);
  }
  return textContent(issuer).trim();
}

export function requireConfiguredIssuer(value: string, expected: string, what: string): void {
  if (value !== expected) {
    throw new SsoError('SSO_ISSUER', `${what} Issuer ${JSON.stringify(value.slice(0, 300))} is not the configured IdP ${expected}`);
  }
}
