/**
 * The strict XML-DSig profile of R-SAML-3/R-SAML-10: which shapes of `ds:Signature` the bridge
 * reads at all, and which algorithms it allows. Pure structure and policy: no canonicalisation
 * and no cryptography here (see signed-content-verifier.ts).
 *
 * Accepted: `Signature = SignedInfo, SignatureValue, KeyInfo?` (no `ds:Object`, nothing else);
 * `SignedInfo = CanonicalizationMethod, SignatureMethod, Reference` with exactly one Reference;
 * `Reference = Transforms?, DigestMethod, DigestValue`; transforms exactly
 * `enveloped-signature` optionally followed by one C14N 1.0 or exclusive C14N (never the
 * WithComments variants, never XPath/XSLT/Base64…); RSA or ECDSA with SHA-256/384/512, digests
 * SHA-256/384/512; SHA-1 (`rsa-sha1`, `sha1` digest) only with `allowSha1`.
 */
import type { Element, Node } from '@xmldom/xmldom';
import { SsoError } from '../saml/sso-error.js';
import { CDATA_SECTION_NODE, COMMENT_NODE, ELEMENT_NODE, PROCESSING_INSTRUCTION_NODE, TEXT_NODE } from './dom.js';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export type CanonicalizationAlgorithm = typeof EXC_C14N | typeof C14N_10;
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface SignatureAlgorithmSpec {
  uri: string;
  hash: HashName;
  /** node:crypto `asymmetricKeyType` of a key that can verify it. */
  keyType: 'rsa' | 'ec';
  weak: boolean;
}

export interface DigestAlgorithmSpec {
  uri: string;
  hash: HashName;
  weak: boolean;
}

export const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithmSpec>> = Object.freeze({
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', hash: 'sha1', keyType: 'rsa', weak: true },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', hash: 'sha256', keyType: 'rsa', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', hash: 'sha384', keyType: 'rsa', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', hash: 'sha512', keyType: 'rsa', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', hash: 'sha256', keyType: 'ec', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384', hash: 'sha384', keyType: 'ec', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512', hash: 'sha512', keyType: 'ec', weak: false },
});

export const DIGEST_ALGORITHMS: Readonly<Record<string, DigestAlgorithmSpec>> = Object.freeze({
  'http://www.w3.org/2000/09/xmldsig#sha1': { uri: 'http://www.w3.org/2000/09/xmldsig#sha1', hash: 'sha1', weak: true },
  'http://www.w3.org/2001/04/xmlenc#sha256': { uri: 'http://www.w3.org/2001/04/xmlenc#sha256', hash: 'sha256', weak: false },
  'http://www.w3.org/2001/04/xmldsig-more#sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#sha384', hash: 'sha384', weak: false },
  'http://www.w3.org/2001/04/xmlenc#sha512': { uri: 'http://www.w3.org/2001/04/xmlenc#sha512', hash: 'sha512', weak: false },
});

const CANONICALIZATIONS: ReadonlySet<string> = new Set([EXC_C14N, C14N_10]);

export interface CanonicalizationStep {
  algorithm: CanonicalizationAlgorithm;
  /** Exclusive C14N's InclusiveNamespaces PrefixList (empty for inclusive C14N). */
  inclusivePrefixes: string[];
}

/** What SignedInfo says; read once from the document and again from its signed canonical form. */
export interface SignedInfoProfile {
  canonicalization: CanonicalizationStep;
  signatureAlgorithm: SignatureAlgorithmSpec;
  referenceUri: string;
  /** The C14N that turns the enveloped-transformed element into octets (C14N 1.0 when none is listed). */
  referenceCanonicalization: CanonicalizationStep;
  digestAlgorithm: DigestAlgorithmSpec;
  digestValue: Buffer;
}

export interface SignatureParts {
  signedInfo: Element;
  signatureValue: Buffer;
  keyInfo: Element | null;
}

export interface ProfileOptions {
  allowSha1: boolean;
}

function refuse(reason: string): SsoError {
  return new SsoError('SSO_SIGNATURE', reason);
}

function name(el: Element): string {
  return el.namespaceURI === DSIG_NS ? `ds:${el.localName}` : `{${el.namespaceURI ?? ''}}${el.localName}`;
}

/** Element children of `parent`; refuses non-whitespace text between them. */
function elementChildrenOnly(parent: Element): Element[] {
  const out: Element[] = [];
  for (let node: Node | null = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE) out.push(node as Element);
    else if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) {
      if (!/^\s*$/.test(node.nodeValue ?? '')) throw refuse(`text content inside ${name(parent)}`);
    }
  }
  return out;
}

/**
 * Checks that `children` is exactly the sequence `expected` of ds elements (`?` marks an
 * optional one) and returns them by local name.
 */
function expectSequence(parent: Element, expected: readonly string[]): Map<string, Element> {
  const children = elementChildrenOnly(parent);
  const found = new Map<string, Element>();
  let i = 0;
  for (const spec of expected) {
    const optional = spec.endsWith('?');
    const localName = optional ? spec.slice(0, -1) : spec;
    const child = children[i];
    if (child && child.namespaceURI === DSIG_NS && child.localName === localName) {
      found.set(localName, child);
      i++;
    } else if (!optional) {
      throw refuse(`${name(parent)} lacks ds:${localName} where expected${child ? ` (found ${name(child)})` : ''}`);
    }
  }
  const extra = children[i];
  if (extra) throw refuse(`unexpected ${name(extra)} in ${name(parent)}`);
  return found;
}

/** The text of a leaf element (base64 values); child elements are refused. */
function leafText(el: Element): string {
  let out = '';
  for (let node: Node | null = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) out += node.nodeValue ?? '';
    else if (node.nodeType !== COMMENT_NODE && node.nodeType !== PROCESSING_INSTRUCTION_NODE) {
      throw refuse(`unexpected content in ${name(el)}`);
    }
  }
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(el: Element): Buffer {
  const text = leafText(el).replace(/\s+/g, '');
  if (text.length === 0 || !BASE64.test(text)) throw refuse(`${name(el)} is not base64`);
  return Buffer.from(text, 'base64');
}

function algorithmOf(el: Element): string {
  const attr = el.getAttributeNodeNS(null, 'Algorithm');
  if (!attr || attr.value === '') throw refuse(`${name(el)} has no Algorithm`);
  return attr.value;
}

/** Reads a CanonicalizationMethod or c14n Transform: allowed algorithm, optional PrefixList. */
function readCanonicalization(el: Element, algorithm: string): CanonicalizationStep {
  if (!CANONICALIZATIONS.has(algorithm)) {
    throw refuse(
      algorithm.endsWith('#WithComments')
        ? `${name(el)} ${algorithm}: comments must not be signed content`
        : `${name(el)} algorithm ${algorithm} not allowed`,
    );
  }
  const children = elementChildrenOnly(el);
  if (algorithm === C14N_10) {
    checkIgnorableParameters(el, children);
    return { algorithm: C14N_10, inclusivePrefixes: [] };
  }
  const [inclusive, extra] = children;
  if (extra) throw refuse(`unexpected ${name(extra)} in ${name(el)}`);
  if (!inclusive) return { algorithm: EXC_C14N, inclusivePrefixes: [] };
  if (inclusive.namespaceURI !== EXC_C14N || inclusive.localName !== 'InclusiveNamespaces') {
    throw refuse(`unexpected ${name(inclusive)} in ${name(el)}`);
  }
  const [content] = elementChildrenOnly(inclusive);
  if (content) throw refuse(`unexpected ${name(content)} in InclusiveNamespaces`);
  const prefixList = inclusive.getAttributeNodeNS(null, 'PrefixList')?.value ?? '';
  return { algorithm: EXC_C14N, inclusivePrefixes: prefixList.split(/\s+/).filter((p) => p.length > 0) };
}

/**
 * xml-crypto signers put their InclusiveNamespaces element under every transform when given a
 * prefix list, even where the algorithm takes no parameter (enveloped-signature, inclusive C14N;
 * xml-crypto's own verifier ignores it there). Tolerate exactly that and nothing else.
 */
function checkIgnorableParameters(el: Element, children: readonly Element[]): void {
  const [first, extra] = children;
  if (extra) throw refuse(`unexpected ${name(extra)} in ${name(el)}`);
  if (!first) return;
  if (first.localName !== 'InclusiveNamespaces') throw refuse(`unexpected ${name(first)} in ${name(el)}`);
  const [content] = elementChildrenOnly(first);
  if (content) throw refuse(`unexpected ${name(content)} in InclusiveNamespaces`);
}

function weak(what: string): SsoError {
  return new SsoError('SSO_WEAK_ALGORITHM', `${what} uses SHA-1 and allowSha1 is off`);
}

/** Reads SignatureMethod: supported, and SHA-1 only when allowed. */
function readSignatureMethod(el: Element, opts: ProfileOptions): SignatureAlgorithmSpec {
  const uri = algorithmOf(el);
  const spec = SIGNATURE_ALGORITHMS[uri];
  if (!spec) throw refuse(`signature algorithm ${uri} not allowed`);
  if (spec.weak && !opts.allowSha1) throw weak(`signature algorithm ${uri}`);
  // HMACOutputLength and the like belong to algorithms we do not accept.
  const [child] = elementChildrenOnly(el);
  if (child) throw refuse(`unexpected ${name(child)} in ds:SignatureMethod`);
  return spec;
}

/**
 * Splits `ds:Signature` into its parts after checking its shape. KeyInfo is returned only for
 * diagnostics: it never chooses the key.
 */
export function readSignatureParts(signature: Element): SignatureParts {
  const parts = expectSequence(signature, ['SignedInfo', 'SignatureValue', 'KeyInfo?']);
  return {
    signedInfo: parts.get('SignedInfo')!,
    signatureValue: decodeBase64(parts.get('SignatureValue')!),
    keyInfo: parts.get('KeyInfo') ?? null,
  };
}

/** Reads `ds:SignedInfo` under the profile; throws SSO_SIGNATURE or SSO_WEAK_ALGORITHM. */
export function readSignedInfo(signedInfo: Element, opts: ProfileOptions): SignedInfoProfile {
  const children = elementChildrenOnly(signedInfo);
  const references = children.filter((c) => c.namespaceURI === DSIG_NS && c.localName === 'Reference');
  if (references.length !== 1) throw refuse(`ds:SignedInfo has ${references.length} References, exactly one is allowed`);
  const parts = expectSequence(signedInfo, ['CanonicalizationMethod', 'SignatureMethod', 'Reference']);

  const c14nMethod = parts.get('CanonicalizationMethod')!;
  const canonicalization = readCanonicalization(c14nMethod, algorithmOf(c14nMethod));
  const signatureAlgorithm = readSignatureMethod(parts.get('SignatureMethod')!, opts);

  const reference = parts.get('Reference')!;
  const uriAttr = reference.getAttributeNodeNS(null, 'URI');
  if (!uriAttr) throw refuse('ds:Reference has no URI');
  const refParts = expectSequence(reference, ['Transforms?', 'DigestMethod', 'DigestValue']);

  const transforms = refParts.get('Transforms');
  const transformList = transforms ? expectTransforms(transforms) : [];
  const [first, second, third] = transformList;
  if (!first || algorithmOf(first) !== ENVELOPED_SIGNATURE) {
    throw refuse('the first transform must be enveloped-signature');
  }
  if (third) throw refuse('more than two transforms');
  let referenceCanonicalization: CanonicalizationStep = { algorithm: C14N_10, inclusivePrefixes: [] };
  checkIgnorableParameters(first, elementChildrenOnly(first));
  if (second) referenceCanonicalization = readCanonicalization(second, algorithmOf(second));

  const digestMethod = refParts.get('DigestMethod')!;
  const digestUri = algorithmOf(digestMethod);
  const digestAlgorithm = DIGEST_ALGORITHMS[digestUri];
  if (!digestAlgorithm) throw refuse(`digest algorithm ${digestUri} not allowed`);
  if (digestAlgorithm.weak && !opts.allowSha1) throw weak(`digest algorithm ${digestUri}`);
  const [digestChild] = elementChildrenOnly(digestMethod);
  if (digestChild) throw refuse(`unexpected ${name(digestChild)} in ds:DigestMethod`);

  return {
    canonicalization,
    signatureAlgorithm,
    referenceUri: uriAttr.value,
    referenceCanonicalization,
    digestAlgorithm,
    digestValue: decodeBase64(refParts.get('DigestValue')!),
  };
}

function expectTransforms(transforms: Element): Element[] {
  const list = elementChildrenOnly(transforms);
  for (const t of list) {
    if (t.namespaceURI !== DSIG_NS || t.localName !== 'Transform') throw refuse(`unexpected ${name(t)} in ds:Transforms`);
    const algorithm = algorithmOf(t);
    if (algorithm !== ENVELOPED_SIGNATURE && !CANONICALIZATIONS.has(algorithm)) {
      throw refuse(
        algorithm.endsWith('#WithComments')
          ? `transform ${algorithm}: comments must not be signed content`
          : `transform ${algorithm} not allowed`,
      );
    }
  }
  if (list.length === 0) throw refuse('ds:Transforms is empty');
  return list;
}
