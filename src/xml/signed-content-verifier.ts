/**
 * The one signed-content verifier (R-SAML-10) behind every signed XML the bridge accepts: SAML
 * Responses and Assertions, RFC 7522 assertions, SAML 1.1 WS-Fed tokens, logout messages and
 * signed metadata.
 *
 * Given the element a caller means to consume, it:
 *  1. takes the `ds:Signature` that is a direct child of that element (DOM walk, no XPath);
 *  2. checks its shape and algorithms against the strict profile (signature-profile.ts);
 *  3. canonicalises SignedInfo and verifies SignatureValue with node:crypto against each pinned
 *     trusted key in turn (KeyInfo never chooses the key);
 *  4. re-reads SignedInfo from the canonical bytes it just verified, so the Reference acted on is
 *     the signed one, not a look-alike in the document;
 *  5. requires the one Reference to be `#ID` of the element itself, that ID unique in the whole
 *     document;
 *  6. applies enveloped-signature + C14N (xml-crypto's classes) to the element and compares the
 *     digest in constant time;
 *  7. re-parses the digested octets and returns that new document's root: callers read ONLY it.
 *
 * Step 7 is what defeats wrapping and comment/PI injection: whatever surrounds the signed
 * element, and whatever the canonicaliser dropped from it, the caller sees exactly the octets
 * that were digested.
 */
import { createHash, timingSafeEqual, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { SsoError } from '../saml/sso-error.js';
import { canonicalizeElement } from './canonicalize.js';
import { descendantElements, isElementNamed } from './dom.js';
import { DSIG_NS, readSignatureParts, readSignedInfo } from './signature-profile.js';
import type { SignatureAlgorithmSpec, SignedInfoProfile } from './signature-profile.js';
import { parseXmlStrict } from './strict-parser.js';

export interface VerifyOptions {
  /** Accept rsa-sha1 and sha1 digests (org setting `allowSha1`); else SSO_WEAK_ALGORITHM. */
  allowSha1: boolean;
  /**
   * Unprefixed attributes that may carry the signed element's ID, tried in order. Default
   * `['ID']` (SAML 2.0); `['AssertionID']` for SAML 1.1 assertions, `['Id']` for WS-Fed parts.
   */
  idAttributes?: readonly string[];
}

export interface VerifiedContent {
  /** Root of a NEW document parsed from `canonicalXml`; the only thing a caller may read. */
  element: Element;
  /** The canonical octets that were digested (the signature itself removed). */
  canonicalXml: string;
  /** The ID the Reference pointed to (that of the signed element). */
  referenceId: string;
  signatureAlgorithm: string;
  digestAlgorithm: string;
  /** The trusted key that verified SignatureValue. */
  key: KeyObject;
}

/**
 * Bound on canonical octets. Exclusive C14N repeats a namespace declaration on every element
 * that uses it, so canonical XML can be larger than its source; past this it is refused.
 */
const MAX_CANONICAL_BYTES = 8 * 1024 * 1024;

const DEFAULT_ID_ATTRIBUTES: readonly string[] = ['ID'];
/**
 * Attribute local names counted for ID uniqueness, whatever their namespace (xml:id, wsu:Id…):
 * a second element carrying the signed ID under any of them is refused.
 */
const ID_LIKE_ATTRIBUTES: ReadonlySet<string> = new Set(['ID', 'Id', 'id', 'AssertionID', 'ResponseID', 'RequestID']);

function refuse(reason: string): SsoError {
  return new SsoError('SSO_SIGNATURE', reason);
}

/**
 * The `ds:Signature` that is a direct child of `element`, or null when there is none. Throws
 * SSO_SIGNATURE when there are several (which one is meant would be ambiguous).
 */
export function findDirectSignature(element: Element): Element | null {
  let found: Element | null = null;
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (!isElementNamed(node, DSIG_NS, 'Signature')) continue;
    if (found) throw refuse(`<${element.localName}> has more than one direct ds:Signature`);
    found = node;
  }
  return found;
}

function elementId(element: Element, idAttributes: readonly string[]): string | null {
  for (const attrName of idAttributes) {
    const attr = element.getAttributeNodeNS(null, attrName);
    if (attr) return attr.value;
  }
  return null;
}

/** Counts the elements of the whole document that carry `id` in an ID-like attribute. */
function countIdOccurrences(element: Element, id: string, idAttributes: readonly string[]): number {
  const root = element.ownerDocument?.documentElement;
  if (!root) return 0;
  let count = 0;
  for (const el of descendantElements(root)) {
    const attrs = el.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const attr = attrs.item(i)!;
      const localName = attr.localName ?? attr.name;
      if (attr.value === id && (ID_LIKE_ATTRIBUTES.has(localName) || idAttributes.includes(localName))) {
        count++;
        break;
      }
    }
  }
  return count;
}

/**
 * Exclusive C14N repeats a prefixed element's namespace declaration on every element that uses
 * it outside its declaring element's output, so 30 000 `<p:a/>` under one 100 KB `xmlns:p`
 * would canonicalise to 3 GB. Bound that before canonicalising: the sum of the namespace URIs
 * every element and attribute may render is an upper bound of what C14N can add.
 */
function checkCanonicalGrowth(element: Element): void {
  let namespaceBytes = 0;
  for (const el of descendantElements(element)) {
    namespaceBytes += el.namespaceURI?.length ?? 0;
    const attrs = el.attributes;
    for (let i = 0; i < attrs.length; i++) namespaceBytes += attrs.item(i)!.namespaceURI?.length ?? 0;
    if (namespaceBytes > MAX_CANONICAL_BYTES) {
      throw new SsoError('SSO_MALFORMED', `<${element.localName}> would canonicalise to over ${MAX_CANONICAL_BYTES} bytes`);
    }
  }
}

function canonicalize(...args: Parameters<typeof canonicalizeElement>): string {
  checkCanonicalGrowth(args[0]);
  try {
    return canonicalizeElement(...args);
  } catch (err) {
    if (err instanceof SsoError) throw err;
    throw refuse(`canonicalisation failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function verifiesWith(key: KeyObject, algorithm: SignatureAlgorithmSpec, data: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== algorithm.keyType) return false;
  try {
    return algorithm.keyType === 'ec'
      ? verify(algorithm.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      : verify(algorithm.hash, data, key, signature);
  } catch {
    // Malformed signature bytes for this key (wrong length…): this key did not verify it.
    return false;
  }
}

function sameSignedInfo(a: SignedInfoProfile, b: SignedInfoProfile): boolean {
  return (
    a.canonicalization.algorithm === b.canonicalization.algorithm &&
    a.canonicalization.inclusivePrefixes.join(' ') === b.canonicalization.inclusivePrefixes.join(' ') &&
    a.signatureAlgorithm.uri === b.signatureAlgorithm.uri
  );
}

/**
 * Verifies the enveloped signature of `element` under the strict profile and returns the
 * signed content re-parsed. Throws `SsoError` with SSO_SIGNATURE (missing, malformed, wrong
 * shape, untrusted key, wrong digest, wrapping), SSO_WEAK_ALGORITHM (SHA-1 without
 * `allowSha1`) or SSO_MALFORMED (content whose canonical form would be too large or does not
 * re-parse).
 */
export function verifySignedElement(
  element: Element,
  trustedKeys: readonly KeyObject[],
  opts: VerifyOptions,
): VerifiedContent {
  const idAttributes = opts.idAttributes ?? DEFAULT_ID_ATTRIBUTES;
  const signature = findDirectSignature(element);
  if (!signature) throw refuse(`<${element.localName}> carries no direct ds:Signature`);
  if (trustedKeys.length === 0) throw refuse('no trusted key to verify with');

  // Policy first, on the document as received, so a refusal names the actual rule broken.
  const { signedInfo, signatureValue } = readSignatureParts(signature);
  const announced = readSignedInfo(signedInfo, opts);

  const signedInfoCanonical = canonicalize(signedInfo, announced.canonicalization);
  const signedInfoBytes = Buffer.from(signedInfoCanonical, 'utf8');
  const key = trustedKeys.find((k) => verifiesWith(k, announced.signatureAlgorithm, signedInfoBytes, signatureValue));
  if (!key) {
    throw refuse(`SignatureValue (${announced.signatureAlgorithm.uri}) not verified by any of ${trustedKeys.length} trusted key(s)`);
  }

  // From here on, act only on what the key signed: SignedInfo as re-parsed from its canonical form.
  const signedDoc = parseXmlStrict(signedInfoCanonical, { maxBytes: MAX_CANONICAL_BYTES });
  const profile = readSignedInfo(signedDoc.documentElement!, opts);
  if (!sameSignedInfo(announced, profile)) throw refuse('canonical SignedInfo differs from the document\'s');

  if (!profile.referenceUri.startsWith('#') || profile.referenceUri.length === 1) {
    throw refuse(`Reference URI ${JSON.stringify(profile.referenceUri)} is not #ID of the signed element`);
  }
  const referenceId = profile.referenceUri.slice(1);
  const ownId = elementId(element, idAttributes);
  if (ownId === null) throw refuse(`<${element.localName}> has no ${idAttributes.join('/')} attribute`);
  if (ownId !== referenceId) {
    throw refuse(`Reference URI #${referenceId} is not the signed element's ID ${ownId}`);
  }
  const occurrences = countIdOccurrences(element, referenceId, idAttributes);
  if (occurrences !== 1) throw refuse(`ID ${referenceId} occurs on ${occurrences} elements of the document`);

  const canonicalXml = canonicalize(element, profile.referenceCanonicalization, signature);
  const digest = createHash(profile.digestAlgorithm.hash).update(canonicalXml, 'utf8').digest();
  if (digest.length !== profile.digestValue.length || !timingSafeEqual(digest, profile.digestValue)) {
    throw refuse(`digest mismatch for #${referenceId}: the signed content was changed`);
  }

  const content = parseXmlStrict(canonicalXml, { maxBytes: MAX_CANONICAL_BYTES });
  return {
    element: content.documentElement!,
    canonicalXml,
    referenceId,
    signatureAlgorithm: profile.signatureAlgorithm.uri,
    digestAlgorithm: profile.digestAlgorithm.uri,
    key,
  };
}
