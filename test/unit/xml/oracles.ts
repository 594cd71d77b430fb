/**
 * Verifiers we did not write, used as oracles for ours (R-SAML-10):
 * - xml-crypto's `SignedXml.checkSignature`, fed the same Signature element and the trusted
 *   certificate (never KeyInfo, unless a test asks for the legacy trust-KeyInfo mode);
 * - node-saml 5.1's `getVerifiedXml` (what `validatePostResponseAsync` runs on the Response and
 *   on the Assertion), which returns the signed canonical bytes or null.
 * Each returns whether it accepted and the canonical bytes it vouches for.
 */
import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { getVerifiedXml, parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { registerExtraAlgorithms } from '../../support/xml-signing.js';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export interface OracleVerdict {
  accepted: boolean;
  /** Canonical XML of the signed reference(s) the oracle returns when it accepts. */
  signed: string[];
  error?: string;
}

/** How a test names the element it verifies, in any DOM (ours is xmldom 0.9, node-saml's 0.8). */
export type Pick = 'root' | { id: string; attribute?: string } | ((doc: Document) => Element);

interface MinimalElement {
  getAttribute(name: string): string | null;
  getElementsByTagName(name: string): ArrayLike<MinimalElement>;
  childNodes: ArrayLike<{ nodeType: number; localName?: string | null; namespaceURI?: string | null }>;
}

export function pickElement<D extends { documentElement: unknown }>(doc: D, pick: Pick): MinimalElement {
  if (pick === 'root') return doc.documentElement as MinimalElement;
  if (typeof pick === 'function') return pick(doc as unknown as Document) as unknown as MinimalElement;
  const all = (doc as unknown as MinimalElement).getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) {
    const el = all[i]!;
    if (el.getAttribute(pick.attribute ?? 'ID') === pick.id) return el;
  }
  throw new Error(`fixture has no element with ID ${pick.id}`);
}

/** Lenient parse (attack fixtures may carry a DOCTYPE our parser refuses). */
export function parseLenient(xml: string): Document {
  return new DOMParser({ onError: () => undefined }).parseFromString(xml, 'text/xml');
}

/** The direct-child Signature of the picked element, else the first Signature in the document. */
function signatureFor(doc: Document, pick: Pick): Element | null {
  let el: MinimalElement | null = null;
  try {
    el = pickElement(doc, pick);
  } catch {
    el = null;
  }
  if (el) {
    for (let i = 0; i < el.childNodes.length; i++) {
      const n = el.childNodes[i]!;
      if (n.nodeType === 1 && n.localName === 'Signature' && n.namespaceURI === DSIG_NS) return n as unknown as Element;
    }
  }
  return doc.getElementsByTagNameNS(DSIG_NS, 'Signature').item(0);
}

export function xmlCryptoOracle(
  xml: string,
  pick: Pick,
  certPem: string,
  opts: { trustKeyInfo?: boolean; idAttribute?: string } = {},
): OracleVerdict {
  try {
    const doc = parseLenient(xml);
    const signature = signatureFor(doc, pick);
    if (!signature) return { accepted: false, signed: [], error: 'no signature' };
    const sig = registerExtraAlgorithms(
      new SignedXml({
        ...(opts.trustKeyInfo ? { getCertFromKeyInfo: SignedXml.getCertFromKeyInfo } : { publicCert: certPem }),
        ...(opts.idAttribute ? { idAttribute: opts.idAttribute } : {}),
      }),
    );
    sig.loadSignature(signature as never);
    const ok = sig.checkSignature(xml);
    return { accepted: ok, signed: ok ? sig.getSignedReferences() : [] };
  } catch (err) {
    return { accepted: false, signed: [], error: err instanceof Error ? err.message : String(err) };
  }
}

export async function nodeSamlOracle(xml: string, pick: Pick, certPem: string): Promise<OracleVerdict> {
  try {
    const doc = await parseDomFromString(xml);
    const el = pickElement(doc, pick);
    const signed = getVerifiedXml(xml, el as never, [certPem]);
    return signed ? { accepted: true, signed: [signed] } : { accepted: false, signed: [] };
  } catch (err) {
    return { accepted: false, signed: [], error: err instanceof Error ? err.message : String(err) };
  }
}
