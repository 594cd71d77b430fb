/**
 * The type that carries "this was signed" (R-SAML-3, R-SAML-10: everything the bridge reads is
 * read from the signed content). A `SignedElement` is an element of a document the verifier
 * parsed from the canonical octets a trusted signature covered — or a descendant of one, or
 * content decrypted from signed ciphertext. Only the verification steps (and tests) mint one;
 * the steps that read issuer, subject, conditions and attributes accept nothing else.
 */
import type { Element } from '@xmldom/xmldom';
import { childElements } from '../../xml/dom.js';

declare const SIGNED: unique symbol;

export type SignedElement = Element & { readonly [SIGNED]: true };

/**
 * Brands `element` as signed content. Call it ONLY on `verifySignedElement(…).element`, on a
 * descendant of a SignedElement, or on what was decrypted from signed ciphertext.
 */
export function trustAsSigned(element: Element): SignedElement {
  return element as SignedElement;
}

/** Children of signed content are signed content. */
export function signedChildElements(parent: SignedElement, ns: string, localName: string): SignedElement[] {
  return childElements(parent, ns, localName) as SignedElement[];
}
