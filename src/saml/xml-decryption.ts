/**
 * Decrypts SAML EncryptedAssertion / EncryptedID (saml-core §2.2.4, §2.3.4; XML Encryption 1.1)
 * with the organisation's service keys, the active one first (R-CERT-1, R-SAML-3, R-SAML-8).
 *
 * Why not xml-encryption's `decrypt` (3.1.0), which node-saml and samlify use? It cannot do
 * xmlenc11#rsa-oaep (Shibboleth IdP's default key transport), it looks the key up with
 * document-wide XPath (`//…`, with the RetrievalMethod URI pasted into the expression), it
 * only tries the first EncryptedKey, ignores the standard `xmlenc#sha256` OAEP digest URI, and
 * follows no allow-list. This module walks the DOM of the one element it is given, allows
 * only RSA-OAEP key transport and AES-CBC/AES-GCM content encryption, and uses node:crypto
 * for every primitive. The test IdP encrypts with xml-encryption, so the two are cross-checked.
 *
 * Every failure is `SsoError('SSO_DECRYPT', reason)` with the same public code, so a caller
 * cannot be used as a padding or key-transport oracle (the reason is only logged). With
 * AES-CBC the ciphertext is not authenticated: when the Response is signed, verify that
 * signature before decrypting.
 *
 * The result is the decrypted XML as text. The caller MUST parse it with parseXmlStrict
 * (src/xml/strict-parser.ts): it comes from the IdP and gets the same DOCTYPE/entity refusal
 * as the envelope, and its own signature is verified from there.
 */
import { type KeyObject, constants, createDecipheriv, privateDecrypt } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { attributeValue, childElements, isElementNamed, textContent } from '../xml/dom.js';
import { SsoError } from './sso-error.js';
import { NS, XENC_ALG } from './namespaces.js';

interface ContentAlgorithm {
  cipher: string;
  keyBytes: number;
  ivBytes: number;
  gcm: boolean;
}

/** Content (EncryptedData) algorithms. Triple-DES is deliberately absent. */
const CONTENT_ALGORITHMS: ReadonlyMap<string, ContentAlgorithm> = new Map([
  [XENC_ALG.aes128Cbc, { cipher: 'aes-128-cbc', keyBytes: 16, ivBytes: 16, gcm: false }],
  [XENC_ALG.aes192Cbc, { cipher: 'aes-192-cbc', keyBytes: 24, ivBytes: 16, gcm: false }],
  [XENC_ALG.aes256Cbc, { cipher: 'aes-256-cbc', keyBytes: 32, ivBytes: 16, gcm: false }],
  [XENC_ALG.aes128Gcm, { cipher: 'aes-128-gcm', keyBytes: 16, ivBytes: 12, gcm: true }],
  [XENC_ALG.aes192Gcm, { cipher: 'aes-192-gcm', keyBytes: 24, ivBytes: 12, gcm: true }],
  [XENC_ALG.aes256Gcm, { cipher: 'aes-256-gcm', keyBytes: 32, ivBytes: 12, gcm: true }],
]);

/** OAEP DigestMethod URIs; the `xmldsig#sha256/512` forms are what xml-encryption writes. */
const OAEP_DIGESTS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2000/09/xmldsig#sha1', 'sha1'],
  ['http://www.w3.org/2001/04/xmlenc#sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmlenc#sha512', 'sha512'],
  ['http://www.w3.org/2000/09/xmldsig#sha256', 'sha256'],
  ['http://www.w3.org/2000/09/xmldsig#sha512', 'sha512'],
]);

const MGF_DIGESTS: ReadonlyMap<string, string> = new Map([
  [XENC_ALG.mgf1Sha1, 'sha1'],
  [XENC_ALG.mgf1Sha224, 'sha224'],
  [XENC_ALG.mgf1Sha256, 'sha256'],
  [XENC_ALG.mgf1Sha384, 'sha384'],
  [XENC_ALG.mgf1Sha512, 'sha512'],
]);

/** More EncryptedKeys than this is not a multi-recipient message but an attempt to burn CPU. */
const MAX_ENCRYPTED_KEYS = 4;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fail(reason: string): SsoError {
  return new SsoError('SSO_DECRYPT', reason);
}

function onlyChild(parent: Element, ns: string, localName: string): Element | undefined {
  const found = childElements(parent, ns, localName);
  if (found.length > 1) throw fail(`more than one ${localName} in ${parent.localName}`);
  return found[0];
}

function base64Content(el: Element, what: string): Buffer {
  const text = textContent(el).replace(/\s+/g, '');
  if (text === '' || !BASE64.test(text)) throw fail(`${what} is not valid base64`);
  return Buffer.from(text, 'base64');
}

/** CipherData/CipherValue; a CipherReference would make us fetch a URI, so it is refused. */
function cipherValue(owner: Element, what: string): Buffer {
  const cipherData = onlyChild(owner, NS.xenc, 'CipherData');
  if (!cipherData) throw fail(`${what} has no CipherData`);
  if (onlyChild(cipherData, NS.xenc, 'CipherReference')) throw fail(`${what} uses CipherReference`);
  const value = onlyChild(cipherData, NS.xenc, 'CipherValue');
  if (!value) throw fail(`${what} has no CipherValue`);
  return base64Content(value, `${what} CipherValue`);
}

interface KeyTransport {
  ciphertext: Buffer;
  oaepHash: string;
  oaepLabel?: Buffer;
}

function readEncryptedKey(encryptedKey: Element): KeyTransport {
  const method = onlyChild(encryptedKey, NS.xenc, 'EncryptionMethod');
  if (!method) throw fail('EncryptedKey has no EncryptionMethod');
  const algorithm = attributeValue(method, 'Algorithm') ?? '';
  if (algorithm === XENC_ALG.rsa15) {
    // PKCS#1 v1.5 key transport is open to Bleichenbacher-style oracles (XML Enc 1.1 §5.5.1).
    throw fail('RSA-1.5 key transport is refused');
  }
  if (algorithm !== XENC_ALG.rsaOaepMgf1p && algorithm !== XENC_ALG.rsaOaep) {
    throw fail(`key transport algorithm not allowed: ${algorithm}`);
  }

  const digestMethod = onlyChild(method, NS.ds, 'DigestMethod');
  let oaepHash = 'sha1';
  if (digestMethod) {
    const uri = attributeValue(digestMethod, 'Algorithm') ?? '';
    const hash = OAEP_DIGESTS.get(uri);
    if (!hash) throw fail(`OAEP digest not allowed: ${uri}`);
    oaepHash = hash;
  }

  if (algorithm === XENC_ALG.rsaOaep) {
    const mgf = onlyChild(method, NS.xenc11, 'MGF');
    const mgfUri = (mgf ? attributeValue(mgf, 'Algorithm') : null) ?? XENC_ALG.mgf1Sha1;
    const mgfHash = MGF_DIGESTS.get(mgfUri);
    if (!mgfHash) throw fail(`OAEP MGF not allowed: ${mgfUri}`);
    // node:crypto (OpenSSL's EVP_PKEY_CTX via Node) uses one hash for OAEP and MGF1.
    if (mgfHash !== oaepHash) throw fail(`OAEP with digest ${oaepHash} and MGF1-${mgfHash} is not supported`);
  }
  // rsa-oaep-mgf1p fixes MGF1-SHA1; with a SHA-2 DigestMethod we follow xml-encryption (and so
  // node-saml/samlify IdPs), which uses the same hash for MGF1, the only variant Node can do.

  const transport: KeyTransport = { ciphertext: cipherValue(encryptedKey, 'EncryptedKey'), oaepHash };
  const params = onlyChild(method, NS.xenc, 'OAEPparams');
  if (params) transport.oaepLabel = base64Content(params, 'OAEPparams');
  return transport;
}

/**
 * The EncryptedKeys that may hold the content key: inside EncryptedData's KeyInfo, or siblings
 * of EncryptedData in the container (saml-core §2.2.4), referenced by RetrievalMethod or not.
 * All are tried; which key decrypts which is decided by OAEP, not by any name in the message.
 */
function candidateEncryptedKeys(container: Element, encryptedData: Element): Element[] {
  const candidates: Element[] = [];
  const keyInfo = onlyChild(encryptedData, NS.ds, 'KeyInfo');
  if (keyInfo) {
    candidates.push(...childElements(keyInfo, NS.xenc, 'EncryptedKey'));
  }
  candidates.push(...childElements(container, NS.xenc, 'EncryptedKey'));
  if (candidates.length === 0) throw fail('no EncryptedKey found');
  if (candidates.length > MAX_ENCRYPTED_KEYS) throw fail(`too many EncryptedKey elements (${candidates.length})`);
  return candidates;
}

function decryptContent(algorithm: ContentAlgorithm, key: Buffer, data: Buffer): string {
  const tagBytes = algorithm.gcm ? 16 : 0;
  if (data.length < algorithm.ivBytes + tagBytes + (algorithm.gcm ? 0 : 16)) throw fail('ciphertext too short');
  const iv = data.subarray(0, algorithm.ivBytes);
  const body = data.subarray(algorithm.ivBytes, data.length - tagBytes);
  let plain: Buffer;
  try {
    if (algorithm.gcm) {
      const decipher = createDecipheriv(algorithm.cipher as 'aes-256-gcm', key, iv, { authTagLength: 16 });
      decipher.setAuthTag(data.subarray(data.length - tagBytes));
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } else {
      if (body.length % 16 !== 0) throw fail('CBC ciphertext is not a whole number of blocks');
      const decipher = createDecipheriv(algorithm.cipher, key, iv);
      // XML Encryption padding (§5.2): only the last byte (the length) is defined; the
      // others are arbitrary, so PKCS#7 checking would reject valid messages.
      decipher.setAutoPadding(false);
      const padded = Buffer.concat([decipher.update(body), decipher.final()]);
      const padLength = padded[padded.length - 1] ?? 0;
      if (padLength < 1 || padLength > 16) throw fail('invalid padding');
      plain = padded.subarray(0, padded.length - padLength);
    }
  } catch (error) {
    if (error instanceof SsoError) throw error;
    throw fail(algorithm.gcm ? 'GCM authentication failed' : 'content decryption failed');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw fail('decrypted content is not UTF-8');
  }
}

/**
 * Decrypts a saml:EncryptedElementType container (EncryptedAssertion, EncryptedID,
 * EncryptedAttribute). Returns the plaintext XML text — parse it with parseXmlStrict.
 */
export function decryptEncryptedElement(
  container: Element,
  keys: readonly KeyObject[],
  expected: { namespace: string; localName: string },
): string {
  if (!isElementNamed(container, expected.namespace, expected.localName)) {
    throw fail(`expected ${expected.localName}, got ${(container as Element).nodeName}`);
  }
  if (keys.length === 0) throw fail('no service key to decrypt with');
  const children = childElements(container);
  const encryptedData = children[0];
  if (!encryptedData || !isElementNamed(encryptedData, NS.xenc, 'EncryptedData')) {
    throw fail(`${expected.localName} does not start with xenc:EncryptedData`);
  }
  for (const child of children.slice(1)) {
    if (!isElementNamed(child, NS.xenc, 'EncryptedKey')) throw fail(`unexpected ${(child as Element).nodeName} in ${expected.localName}`);
  }
  const type = attributeValue(encryptedData, 'Type');
  if (type && type !== XENC_ALG.typeElement) throw fail(`EncryptedData Type ${type} is not Element`);

  const method = onlyChild(encryptedData, NS.xenc, 'EncryptionMethod');
  if (!method) throw fail('EncryptedData has no EncryptionMethod');
  const contentAlgorithmUri = attributeValue(method, 'Algorithm') ?? '';
  const contentAlgorithm = CONTENT_ALGORITHMS.get(contentAlgorithmUri);
  if (!contentAlgorithm) throw fail(`content encryption algorithm not allowed: ${contentAlgorithmUri}`);
  const data = cipherValue(encryptedData, 'EncryptedData');

  // Parse every candidate first, so an unacceptable algorithm is refused even if another
  // EncryptedKey would have worked (no downgrade by adding a weak sibling).
  const transports = candidateEncryptedKeys(container, encryptedData).map(readEncryptedKey);

  for (const key of keys) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') continue;
    const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    for (const transport of transports) {
      if (transport.ciphertext.length !== modulusBytes) continue;
      let contentKey: Buffer;
      try {
        contentKey = privateDecrypt(
          {
            key,
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: transport.oaepHash,
            ...(transport.oaepLabel ? { oaepLabel: transport.oaepLabel } : {}),
          },
          transport.ciphertext,
        );
      } catch {
        continue; // not encrypted to this key: try the next one
      }
      if (contentKey.length !== contentAlgorithm.keyBytes) continue;
      // OAEP succeeded, so this EncryptedKey was for this key: a content failure is final.
      return decryptContent(contentAlgorithm, contentKey, data);
    }
  }
  throw fail('no service key could decrypt the content key');
}

/** Decrypts a saml:EncryptedAssertion; returns the saml:Assertion XML text. */
export function decryptEncryptedAssertion(encryptedAssertion: Element, keys: readonly KeyObject[]): string {
  return decryptEncryptedElement(encryptedAssertion, keys, { namespace: NS.saml, localName: 'EncryptedAssertion' });
}

/** Decrypts a saml:EncryptedID; returns the NameID (or BaseID) XML text. */
export function decryptEncryptedId(encryptedId: Element, keys: readonly KeyObject[]): string {
  return decryptEncryptedElement(encryptedId, keys, { namespace: NS.saml, localName: 'EncryptedID' });
}
