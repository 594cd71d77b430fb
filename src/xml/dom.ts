/**
 * Namespace-aware DOM reading for xmldom trees. Elements are matched by namespace URI and local
 * name, never by prefix (a prefix means whatever its nearest declaration says), and by walking
 * children, never by XPath over the whole document.
 */
import type { Document, Element, Node } from '@xmldom/xmldom';

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const CDATA_SECTION_NODE = 4;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;

export function isElement(node: Node | null | undefined): node is Element {
  return node != null && node.nodeType === ELEMENT_NODE;
}

/** True when `el` is `{ns}localName`. */
export function isElementNamed(el: Node | null | undefined, ns: string, localName: string): el is Element {
  return isElement(el) && el.localName === localName && (el.namespaceURI ?? '') === ns;
}

/**
 * The element children of `parent`, in document order; when `ns` and `localName` are given,
 * only those named `{ns}localName`.
 */
export function childElements(parent: Element | Document, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (!isElement(node)) continue;
    if (localName !== undefined && (node.localName !== localName || (node.namespaceURI ?? '') !== (ns ?? ''))) continue;
    out.push(node);
  }
  return out;
}

/** The first child element named `{ns}localName`, or null. */
export function firstChildElement(parent: Element | Document, ns: string, localName: string): Element | null {
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (isElementNamed(node, ns, localName)) return node;
  }
  return null;
}

/**
 * The text of `el`: its text and CDATA descendants concatenated, comments and processing
 * instructions left out. Read it from signed content only (the verifier's returned element),
 * where comments and PIs no longer exist.
 */
export function textContent(el: Element): string {
  let out = '';
  const stack: Node[] = [];
  for (let node = el.lastChild; node; node = node.previousSibling) stack.push(node);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) out += node.nodeValue ?? '';
    else if (isElement(node)) for (let c = node.lastChild; c; c = c.previousSibling) stack.push(c);
  }
  return out;
}

/**
 * The value of an attribute without namespace (SAML's `ID`, `Version`, `Destination`…), or
 * null. A prefixed attribute of the same local name is a different attribute and is not read.
 */
export function attributeValue(el: Element, localName: string): string | null {
  const attr = el.getAttributeNodeNS(null, localName);
  return attr ? attr.value : null;
}

/** Every element of the subtree rooted at `root` (root included), in document order. */
export function* descendantElements(root: Element): Generator<Element> {
  const stack: Element[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    yield el;
    for (let node = el.lastChild; node; node = node.previousSibling) if (isElement(node)) stack.push(node);
  }
}
