/**
 * The signature of a metadata document (R-SAML-7, R-SAML-10), checked with the one
 * signed-content verifier. Metadata is signed on its root (EntityDescriptor or
 * EntitiesDescriptor); the signature is a direct child of it.
 *
 * - With a configured metadata-signing certificate, only that key is trusted: `valid` means
 *   the document comes from whoever holds it (`trusted: true`), anything else is `invalid`
 *   and the caller refuses the import.
 * - Without one, a signature is checked against the certificate in its own KeyInfo: that
 *   shows the document was not altered after signing, not who signed it (`trusted: false`).
 *
 * When the signature verifies, `root` is the verified signed content (re-parsed canonical
 * octets), so the caller reads only what was signed; otherwise it is the document's root.
 */
import type { Element } from '@xmldom/xmldom';
import type { KeyObject } from 'node:crypto';
import { childElements, textContent } from '../../xml/dom.js';
import { getPinnedKey } from '../../xml/pinned-keys.js';
import { findDirectSignature, verifySignedElement } from '../../xml/signed-content-verifier.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';

export type MetadataSignatureStatus = 'none' | 'valid' | 'invalid';

export interface MetadataSignatureCheck {
  status: MetadataSignatureStatus;
  /** Verified with the configured metadata-signing certificate. */
  trusted: boolean;
  /** Why it is invalid (for the answer and the audit log). */
  reason?: string;
  /** What to read: the signed content when valid, else the document's root. */
  root: Element;
}

function embeddedCertificate(signature: Element): KeyObject | undefined {
  for (const keyInfo of childElements(signature, NS.ds, 'KeyInfo')) {
    for (const data of childElements(keyInfo, NS.ds, 'X509Data')) {
      for (const cert of childElements(data, NS.ds, 'X509Certificate')) {
        try {
          return getPinnedKey(textContent(cert));
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

export function checkMetadataSignature(
  root: Element,
  opts: { trustedCertificate?: string | null | undefined; allowSha1: boolean },
): MetadataSignatureCheck {
  let signature: Element | null;
  try {
    signature = findDirectSignature(root);
  } catch (err) {
    return { status: 'invalid', trusted: false, reason: err instanceof Error ? err.message : String(err), root };
  }
  if (!signature) return { status: 'none', trusted: false, root };

  const configured = opts.trustedCertificate ? getPinnedKey(opts.trustedCertificate) : undefined;
  const key = configured ?? embeddedCertificate(signature);
  if (!key) {
    return {
      status: 'invalid',
      trusted: false,
      reason: 'the signature carries no usable certificate and no metadata signing certificate is configured',
      root,
    };
  }
  try {
    const verified = verifySignedElement(root, [key], { allowSha1: opts.allowSha1 });
    return { status: 'valid', trusted: configured !== undefined, root: verified.element };
  } catch (err) {
    if (!(err instanceof SsoError)) throw err;
    return { status: 'invalid', trusted: false, reason: err.reason, root };
  }
}
