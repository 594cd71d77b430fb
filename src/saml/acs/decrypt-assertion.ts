/**
 * R-SAML-3, fourth rule [SSO_DECRYPT, SSO_MALFORMED]: an EncryptedAssertion is decrypted with
 * every service key of the org, active first (key rollover, R-SAML-8), by the allow-listed
 * decryptor (RSA-OAEP; AES-GCM or AES-CBC), and the plaintext goes through the strict parser
 * like the envelope did. It runs after verify-response-signature, so ciphertext inside a
 * signed Response is authenticated before it is decrypted.
 *
 * Inside an UNSIGNED Response the ciphertext is not authenticated, and AES-CBC is malleable:
 * anyone may flip bits and watch the answer (Jager & Somorovsky, "How to Break XML
 * Encryption", 2011). Telling "bad padding" from "plaintext is not XML" from "not an
 * Assertion" would hand them a padding/parse oracle that decrypts the assertion block by
 * block. So there, every refusal of this step and of select-assertion is ONE public code,
 * SSO_DECRYPT; what went wrong is only in the logged reason (`unauthenticatedDecryptFailure`).
 * A signature failure on a well-formed decrypted Assertion may still say SSO_SIGNATURE.
 *
 * More than one EncryptedAssertion is refused here, before any RSA work.
 */
import type { Element } from '@xmldom/xmldom';
import { childElements, isElementNamed } from '../../xml/dom.js';
import { parseXmlStrict } from '../../xml/strict-parser.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import { decryptEncryptedAssertion } from '../xml-decryption.js';
import type { AssertionDecrypted, Covered, ResponseVerified } from './context.js';
import { MAX_SAML_RESPONSE_BYTES } from './decode-body.js';
import { trustAsSigned } from './signed-element.js';

/**
 * The one answer to any refusal about ciphertext no verified signature covers: SSO_DECRYPT,
 * with the original code and reason kept for the log only.
 */
export function unauthenticatedDecryptFailure(err: unknown): SsoError {
  const detail = err instanceof SsoError ? `${err.code}: ${err.reason}` : err instanceof Error ? err.message : String(err);
  return new SsoError('SSO_DECRYPT', `EncryptedAssertion in an unsigned Response refused (${detail})`);
}

/** Decrypts and strictly parses the one EncryptedAssertion; any failure throws. */
function decryptOne(encrypted: Element, keys: Parameters<typeof decryptEncryptedAssertion>[1]): Element {
  const plaintext = decryptEncryptedAssertion(encrypted, keys);
  const root = parseXmlStrict(plaintext, { maxBytes: MAX_SAML_RESPONSE_BYTES }).documentElement;
  if (!root || !isElementNamed(root, NS.saml, 'Assertion')) {
    throw new SsoError('SSO_MALFORMED', 'EncryptedAssertion does not decrypt to a saml:Assertion');
  }
  return root;
}

export async function decryptAssertion(ctx: ResponseVerified): Promise<AssertionDecrypted> {
  const encrypted = childElements(ctx.response.element, NS.saml, 'EncryptedAssertion');
  if (encrypted.length === 0) return { ...ctx, decrypted: null };
  const authenticated = ctx.response.covered;
  if (encrypted.length > 1) {
    const refusal = new SsoError('SSO_MALFORMED', `Response has ${encrypted.length} EncryptedAssertions`);
    throw authenticated ? refusal : unauthenticatedDecryptFailure(refusal);
  }
  // Outside the one-code region: failing to load our own keys is not about the ciphertext.
  const keys = await ctx.deps.serviceDecryptionKeys();

  if (authenticated) {
    // Decrypted from ciphertext a verified Response signature covered: signed content too.
    return { ...ctx, decrypted: { covered: true, element: trustAsSigned(decryptOne(encrypted[0]!, keys)) } };
  }
  let root: Element;
  try {
    root = decryptOne(encrypted[0]!, keys);
  } catch (err) {
    throw unauthenticatedDecryptFailure(err);
  }
  const decrypted: Covered = { covered: false, element: root };
  return { ...ctx, decrypted };
}
