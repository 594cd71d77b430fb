/**
 * Canonicalisation through xml-crypto's own classes (never hand-written C14N), applied to a
 * deep clone so the caller's DOM is never changed. The in-scope namespaces of the original's
 * ancestors are handed to the canonicaliser as xml-crypto's `SignedXml` does, so the bytes are
 * the ones xml-crypto (and hence the IdP libraries built on the same algorithms) digest.
 */
import type { Element, Node } from '@xmldom/xmldom';
import { C14nCanonicalization, ExclusiveCanonicalization } from 'xml-crypto';
import { EnvelopedSignature } from 'xml-crypto/lib/enveloped-signature.js';
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js';
import { DSIG_NS, EXC_C14N } from './signature-profile.js';
import type { CanonicalizationStep } from './signature-profile.js';

/** Same fallback as `SignedXml.defaultNsForPrefix`. */
const DEFAULT_NS_FOR_PREFIX = { ds: DSIG_NS };

/**
 * Canonical form of `element` under `step`. With `envelopedSignature` (a direct child of
 * `element`), that signature is first removed by the enveloped-signature transform.
 */
export function canonicalizeElement(element: Element, step: CanonicalizationStep, envelopedSignature?: Element): string {
  const clone = element.cloneNode(true) as Element;
  let clonedSignature: Node | null = null;
  if (envelopedSignature) {
    let index = 0;
    for (let node = element.firstChild; node && node !== envelopedSignature; node = node.nextSibling) index++;
    clonedSignature = clone.childNodes.item(index);
    if (envelopedSignature.parentNode !== element || !clonedSignature) {
      throw new Error('enveloped signature is not a child of the element');
    }
    new EnvelopedSignature().process(clone, { signatureNode: clonedSignature });
  }
  const canonicalizer = step.algorithm === EXC_C14N ? new ExclusiveCanonicalization() : new C14nCanonicalization();
  const out: unknown = canonicalizer.process(clone, {
    inclusiveNamespacesPrefixList: step.inclusivePrefixes,
    ancestorNamespaces: findAncestorNsForElement(element),
    defaultNsForPrefix: DEFAULT_NS_FOR_PREFIX,
    signatureNode: clonedSignature,
  });
  if (typeof out !== 'string') throw new Error('canonicalizer returned no octets');
  return out;
}
