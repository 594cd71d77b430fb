/**
 * R-SAML-3, fourth rule [SSO_DECRYPT, SSO_MALFORMED]: an EncryptedAssertion is decrypted with
 * every service key of the org, active first (key rollover, R-SAML-8), by the allow-listed
 * decryptor (RSA-OAEP; AES-GCM or AES-CBC), and the plaintext goes through the strict parser
 * like the envelope did. It runs after verify-response-signature, so ciphertext inside a
 * signed Response is authenticated before it is decrypted (AES-CBC alone is not).
 *
 * More than one EncryptedAssertion is refused here, before any RSA work.
 */
import { childElements, isElementNamed } from '../../xml/dom.js';
import { parseXmlStrict } from '../../xml/strict-parser.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import { decryptEncryptedAssertion } from '../xml-decryption.js';
import type { AssertionDecrypted, Covered, ResponseVerified } from './context.js';
import { MAX_SAML_RESPONSE_BYTES } from './decode-body.js';
import { trustAsSigned } from './signed-element.js';

export async function decryptAssertion(ctx: ResponseVerified): Promise<AssertionDecrypted> {
  const encrypted = childElements(ctx.response.element, NS.saml, 'EncryptedAssertion');
  if (encrypted.length === 0) return { ...ctx, decrypted: null };
  if (encrypted.length > 1) throw new SsoError('SSO_MALFORMED', `Response has ${encrypted.length} EncryptedAssertions`);

  const keys = await ctx.deps.serviceDecryptionKeys();
  const plaintext = decryptEncryptedAssertion(encrypted[0]!, keys);
  const root = parseXmlStrict(plaintext, { maxBytes: MAX_SAML_RESPONSE_BYTES }).documentElement;
  if (!isElementNamed(root, NS.saml, 'Assertion')) {
    throw new SsoError('SSO_MALFORMED', 'EncryptedAssertion does not decrypt to a saml:Assertion');
  }
  // Decrypted from ciphertext a verified Response signature covered: signed content too.
  const decrypted: Covered = ctx.response.covered ? { covered: true, element: trustAsSigned(root) } : { covered: false, element: root };
  return { ...ctx, decrypted };
}
