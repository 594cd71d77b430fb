/**
 * Canonicalisation through xml-crypto's own classes (never hand-written C14N), leaving the
 * caller's DOM as it was. The in-scope namespaces of the original's
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

/** First element child of `parent` with local name `localName` (any namespace), as xml-crypto looks. */
function childByLocalName(parent: Element, localName: string): Element | null {
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName) return node as Element;
  }
  return null;
}

/**
 * Exclusive C14N with an InclusiveNamespaces PrefixList copies the listed ancestor declarations
 * onto the element it is given (`setAttributeNS`). The list is the one passed or, when none is,
 * the one xml-crypto finds in a `CanonicalizationMethod` child of the element itself (SignedInfo).
 */
function mayAddDeclarations(element: Element, step: CanonicalizationStep, ancestors: ReadonlyArray<{ prefix: string }>): boolean {
  if (step.algorithm !== EXC_C14N || ancestors.length === 0) return false;
  let prefixes: readonly string[] = step.inclusivePrefixes;
  if (prefixes.length === 0) {
    const method = childByLocalName(element, 'CanonicalizationMethod');
    const inclusive = method && childByLocalName(method, 'InclusiveNamespaces');
    prefixes = (inclusive?.getAttribute('PrefixList') ?? '').split(' ');
  }
  return ancestors.some((ns) => prefixes.includes(ns.prefix));
}

/**
 * Canonical form of `element` under `step`. With `envelopedSignature` (a direct child of
 * `element`), that signature is first removed by the enveloped-signature transform.
 *
 * Deep-cloning an xmldom 0.9 tree costs more than canonicalising it, so the element is only
 * copied when the canonicaliser could write to it; otherwise the enveloped signature is taken
 * out for the duration of this synchronous call and put back in the same place.
 */
export function canonicalizeElement(element: Element, step: CanonicalizationStep, envelopedSignature?: Element): string {
  if (envelopedSignature && envelopedSignature.parentNode !== element) {
    throw new Error('enveloped signature is not a child of the element');
  }
  // xml-crypto types its parameters with the global DOM types; xmldom's are structurally the same.
  const ancestorNamespaces = findAncestorNsForElement(element as never);
  const canonicalizer = step.algorithm === EXC_C14N ? new ExclusiveCanonicalization() : new C14nCanonicalization();
  const run = (target: Element, signatureNode: Node | null): string => {
    const out: unknown = canonicalizer.process(target as never, {
      inclusiveNamespacesPrefixList: step.inclusivePrefixes,
      ancestorNamespaces,
      defaultNsForPrefix: DEFAULT_NS_FOR_PREFIX,
      signatureNode: signatureNode as never,
    });
    if (typeof out !== 'string') throw new Error('canonicalizer returned no octets');
    return out;
  };

  if (mayAddDeclarations(element, step, ancestorNamespaces)) {
    const clone = element.cloneNode(true) as Element;
    let clonedSignature: Node | null = null;
    if (envelopedSignature) {
      let index = 0;
      for (let node = element.firstChild; node && node !== envelopedSignature; node = node.nextSibling) index++;
      clonedSignature = clone.childNodes.item(index);
      new EnvelopedSignature().process(clone as never, { signatureNode: clonedSignature as never });
    }
    return run(clone, clonedSignature);
  }

  if (!envelopedSignature) return run(element, null);
  const next = envelopedSignature.nextSibling;
  new EnvelopedSignature().process(element as never, { signatureNode: envelopedSignature as never });
  try {
    return run(element, envelopedSignature);
  } finally {
    element.insertBefore(envelopedSignature, next);
  }
}
