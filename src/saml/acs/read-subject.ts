/**
 * R-SAML-3, sixth rule [SSO_NAMEID]: the signed Assertion has one Subject with one NameID, or
 * one EncryptedID decrypted with the service keys (its ciphertext is signed content, so the
 * plaintext is too); the value is not empty; its Format is the configured one, unless the
 * configuration says `unspecified` (then any Format is accepted). BaseID is refused: an
 * account cannot be keyed on it.
 */
import { attributeValue, isElementNamed, textContent } from '../../xml/dom.js';
import { parseXmlStrict } from '../../xml/strict-parser.js';
import { NS } from '../namespaces.js';
import { nameIdFormatMatches } from '../name-id-formats.js';
import { SsoError } from '../sso-error.js';
import { decryptEncryptedId } from '../xml-decryption.js';
import type { VerifiedAssertion, WithSubject } from './context.js';
import { signedChildElements, trustAsSigned, type SignedElement } from './signed-element.js';

/** NameIDs are identifiers, not documents; SAML caps most formats at 256 characters. */
const MAX_NAME_ID_LENGTH = 1024;

/** The one saml:Subject of the Assertion; SSO_NAMEID when absent or repeated. */
export function subjectOf(assertion: SignedElement): SignedElement {
  const subjects = signedChildElements(assertion, NS.saml, 'Subject');
  if (subjects.length !== 1) throw new SsoError('SSO_NAMEID', `Assertion has ${subjects.length} Subject elements`);
  return subjects[0]!;
}

async function nameIdElement(ctx: VerifiedAssertion, subject: SignedElement): Promise<{ element: SignedElement; encrypted: boolean }> {
  if (signedChildElements(subject, NS.saml, 'BaseID').length > 0) throw new SsoError('SSO_NAMEID', 'Subject carries a BaseID');
  const plain = signedChildElements(subject, NS.saml, 'NameID');
  const encrypted = signedChildElements(subject, NS.saml, 'EncryptedID');
  if (plain.length + encrypted.length !== 1) {
    throw new SsoError('SSO_NAMEID', `Subject has ${plain.length} NameID and ${encrypted.length} EncryptedID elements`);
  }
  if (plain.length === 1) return { element: plain[0]!, encrypted: false };

  const keys = await ctx.deps.serviceDecryptionKeys();
  const root = parseXmlStrict(decryptEncryptedId(encrypted[0]!, keys)).documentElement;
  if (!isElementNamed(root, NS.saml, 'NameID')) throw new SsoError('SSO_NAMEID', 'EncryptedID does not decrypt to a saml:NameID');
  return { element: trustAsSigned(root), encrypted: true };
}

export async function readSubject<C extends VerifiedAssertion>(ctx: C): Promise<C & WithSubject> {
  const { element, encrypted } = await nameIdElement(ctx, subjectOf(ctx.assertion));
  const nameId = textContent(element).trim();
  if (nameId === '') throw new SsoError('SSO_NAMEID', 'NameID is empty');
  if (nameId.length > MAX_NAME_ID_LENGTH) throw new SsoError('SSO_NAMEID', `NameID is longer than ${MAX_NAME_ID_LENGTH} characters`);
  const format = attributeValue(element, 'Format');
  if (!nameIdFormatMatches(ctx.settings.nameIdFormat, format)) {
    throw new SsoError(
      'SSO_NAMEID',
      `NameID Format ${JSON.stringify(format ?? '(none: unspecified)')} is not the configured ${ctx.settings.nameIdFormat}`,
    );
  }
  return {
    ...ctx,
    subject: {
      nameId,
      format,
      nameQualifier: attributeValue(element, 'NameQualifier'),
      spNameQualifier: attributeValue(element, 'SPNameQualifier'),
      encrypted,
    },
  };
}
