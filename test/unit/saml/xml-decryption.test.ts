import assert from 'node:assert/strict';
import { createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Element } from '@xmldom/xmldom';
import * as xmlenc from 'xml-encryption';
import { decryptEncryptedAssertion, decryptEncryptedId } from '../../../src/saml/xml-decryption.js';
import { NS, XENC_ALG } from '../../../src/saml/namespaces.js';
import { SsoError } from '../../../src/saml/sso-error.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { childElements, descendantElements } from '../../../src/xml/dom.js';
import {
  type ContentEncryptionName,
  type EncryptionSpec,
  TestIdp,
  encryptElement,
  generateTestKeyPair,
  oaepEncryptKey,
} from '../../support/test-idp.js';

const idp = new TestIdp();
const activeKey = generateTestKeyPair({ commonName: 'sp active' });
const previousKey = generateTestKeyPair({ commonName: 'sp previous' });
const strangerKey = generateTestKeyPair({ commonName: 'someone else' });
const NOW = Date.UTC(2026, 0, 1, 12);

const ASSERTION = `<saml:Assertion xmlns:saml="${NS.saml}" ID="_a1" Version="2.0" IssueInstant="2026-01-01T12:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>jöhn@example.com</saml:NameID></saml:Subject></saml:Assertion>`;

function expectDecryptError(fn: () => unknown, reason?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SsoError, `expected SsoError, got ${String(e)}`);
    assert.equal(e.code, 'SSO_DECRYPT');
    if (reason) assert.match(e.reason, reason);
    return true;
  });
}

async function encryptedAssertion(spec: EncryptionSpec, plaintext = ASSERTION): Promise<Element> {
  return parseXmlStrict(await encryptElement(plaintext, 'EncryptedAssertion', spec)).documentElement!;
}

function find(root: Element, ns: string, localName: string): Element[] {
  return [...descendantElements(root)].filter((el) => el.namespaceURI === ns && el.localName === localName);
}

/** An EncryptedAssertion built by hand, for inputs xml-encryption will not produce. */
function handBuilt(options: {
  contentAlgorithm: string;
  encryptedData: Buffer;
  keyTransport?: string;
  encryptedKey: Buffer;
  keyMethodChildren?: string;
  cipherData?: string;
}): Element {
  const keyMethod = `<xenc:EncryptionMethod Algorithm="${options.keyTransport ?? XENC_ALG.rsaOaepMgf1p}">${options.keyMethodChildren ?? ''}</xenc:EncryptionMethod>`;
  const xml =
    `<saml:EncryptedAssertion xmlns:saml="${NS.saml}" xmlns:xenc="${NS.xenc}" xmlns:ds="${NS.ds}" xmlns:xenc11="${NS.xenc11}">` +
    `<xenc:EncryptedData Type="${XENC_ALG.typeElement}"><xenc:EncryptionMethod Algorithm="${options.contentAlgorithm}"/>` +
    `<ds:KeyInfo><xenc:EncryptedKey>${keyMethod}<xenc:CipherData><xenc:CipherValue>${options.encryptedKey.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
    (options.cipherData ?? `<xenc:CipherData><xenc:CipherValue>${options.encryptedData.toString('base64')}</xenc:CipherValue></xenc:CipherData>`) +
    `</xenc:EncryptedData></saml:EncryptedAssertion>`;
  return parseXmlStrict(xml).documentElement!;
}

/** AES-CBC over exactly `bytes` (a whole number of blocks), IV prepended, no padding added. */
function cbcRaw(key: Buffer, bytes: Buffer): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(bytes), cipher.final()]);
}

/** `text` padded to whole blocks XML Encryption's way: filler bytes (here 0xAA), then the length. */
function xmlEncPad(text: string): Buffer {
  const plain = Buffer.from(text);
  const padLength = 16 - (plain.length % 16);
  return Buffer.concat([plain, Buffer.alloc(padLength - 1, 0xaa), Buffer.from([padLength])]);
}

describe('saml/xml-decryption', () => {
  const contents: ContentEncryptionName[] = ['aes128-cbc', 'aes256-cbc', 'aes128-gcm', 'aes256-gcm'];
  const transports: Array<{ keyTransport: 'rsa-oaep-mgf1p' | 'rsa-oaep'; oaepDigest: 'sha1' | 'sha256' }> = [
    { keyTransport: 'rsa-oaep-mgf1p', oaepDigest: 'sha1' },
    { keyTransport: 'rsa-oaep-mgf1p', oaepDigest: 'sha256' },
    { keyTransport: 'rsa-oaep', oaepDigest: 'sha1' },
    { keyTransport: 'rsa-oaep', oaepDigest: 'sha256' },
  ];

  for (const content of contents) {
    for (const transport of transports) {
      for (const keyPlacement of ['inline', 'sibling'] as const) {
        it(`decrypts ${transport.keyTransport}/${transport.oaepDigest} + ${content} (${keyPlacement} EncryptedKey)`, async () => {
          const el = await encryptedAssertion({ certPem: activeKey.certPem, algorithms: { ...transport, content }, keyPlacement });
          const plaintext = decryptEncryptedAssertion(el, [activeKey.privateKey]);
          assert.equal(plaintext, ASSERTION);
          // The caller parses the plaintext strictly; it is a well-formed Assertion.
          const assertion = parseXmlStrict(plaintext).documentElement!;
          assert.equal(assertion.localName, 'Assertion');
          assert.equal(assertion.getAttribute('ID'), '_a1');
        });
      }
    }
  }

  it('agrees with xml-encryption’s own decrypt on what it supports', async () => {
    const decrypt = promisify(xmlenc.decrypt) as (xml: string, o: xmlenc.DecryptOptions) => Promise<string>;
    for (const content of contents) {
      const xml = await encryptElement(ASSERTION, 'EncryptedAssertion', { certPem: activeKey.certPem, algorithms: { content } });
      const oracle = await decrypt(xml, { key: activeKey.privateKeyPem, disallowDecryptionWithInsecureAlgorithm: true });
      assert.equal(decryptEncryptedAssertion(parseXmlStrict(xml).documentElement!, [activeKey.privateKey]), oracle);
    }
  });

  it('tries the active key first, then the others (an IdP still on the previous certificate)', async () => {
    const el = await encryptedAssertion({ certPem: previousKey.certPem });
    assert.equal(decryptEncryptedAssertion(el, [activeKey.privateKey, previousKey.privateKey]), ASSERTION);
    const other = await encryptedAssertion({ certPem: activeKey.certPem });
    assert.equal(decryptEncryptedAssertion(other, [activeKey.privateKey, previousKey.privateKey]), ASSERTION);
  });

  it('fails with SSO_DECRYPT when no key fits', async () => {
    const el = await encryptedAssertion({ certPem: strangerKey.certPem });
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey, previousKey.privateKey]), /no service key/);
    expectDecryptError(() => decryptEncryptedAssertion(el, []), /no service key/);
  });

  it('skips keys that cannot do RSA key transport', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const el = await encryptedAssertion({ certPem: activeKey.certPem });
    assert.equal(decryptEncryptedAssertion(el, [ec.privateKey, activeKey.publicKey, activeKey.privateKey]), ASSERTION);
  });

  it('finds our EncryptedKey among several recipients, in any order', async () => {
    const base = await encryptElement(ASSERTION, 'EncryptedAssertion', { certPem: activeKey.certPem, algorithms: { content: 'aes256-gcm' } });
    const el = parseXmlStrict(base).documentElement!;
    // Add a sibling EncryptedKey holding garbage for another recipient, before ours.
    const ours = find(el, NS.xenc, 'EncryptedKey')[0]!;
    const theirs = ours.cloneNode(true) as Element;
    find(theirs, NS.xenc, 'CipherValue')[0]!.textContent = oaepEncryptKey(strangerKey.certPem, randomBytes(32)).toString('base64');
    el.insertBefore(theirs, null);
    ours.parentNode!.insertBefore(theirs.cloneNode(true), ours);
    assert.equal(decryptEncryptedAssertion(el, [activeKey.privateKey]), ASSERTION);
  });

  it('refuses RSA-1.5 key transport even with the right key', async () => {
    const el = await encryptedAssertion({ certPem: activeKey.certPem, algorithms: { keyTransport: 'rsa-1_5' } });
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /RSA-1\.5/);
  });

  it('refuses a weak sibling EncryptedKey even when a good one is present (no downgrade)', async () => {
    const el = await encryptedAssertion({ certPem: activeKey.certPem });
    const ours = find(el, NS.xenc, 'EncryptedKey')[0]!;
    const weak = ours.cloneNode(true) as Element;
    childElements(weak, NS.xenc, 'EncryptionMethod')[0]!.setAttribute('Algorithm', XENC_ALG.rsa15);
    el.appendChild(weak);
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /RSA-1\.5/);
  });

  it('refuses Triple-DES content encryption', async () => {
    const el = await encryptedAssertion({ certPem: activeKey.certPem, algorithms: { content: 'tripledes-cbc' } });
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /not allowed/);
  });

  it('refuses OAEP parameters Node cannot honour instead of guessing (digest ≠ MGF1 digest)', () => {
    const key = randomBytes(16);
    const el = handBuilt({
      contentAlgorithm: XENC_ALG.aes128Cbc,
      encryptedData: cbcRaw(key, xmlEncPad(ASSERTION)),
      keyTransport: XENC_ALG.rsaOaep,
      encryptedKey: oaepEncryptKey(activeKey.certPem, key, 'sha256'),
      keyMethodChildren: `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><xenc11:MGF Algorithm="${XENC_ALG.mgf1Sha1}"/>`,
    });
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /MGF1-sha1 is not supported/);
  });

  it('accepts XML Encryption padding whose filler bytes are arbitrary', () => {
    const key = randomBytes(32);
    for (const padLength of [1, 7, 16]) {
      // Trailing spaces after the root element are harmless; they set the padding length.
      let text = ASSERTION;
      while ((Buffer.byteLength(text) + padLength) % 16 !== 0) text += ' ';
      const padded = xmlEncPad(text);
      assert.equal(padded[padded.length - 1], padLength);
      const el = handBuilt({
        contentAlgorithm: XENC_ALG.aes256Cbc,
        encryptedData: cbcRaw(key, padded),
        encryptedKey: oaepEncryptKey(activeKey.certPem, key),
      });
      assert.equal(decryptEncryptedAssertion(el, [activeKey.privateKey]), text);
    }
  });

  it('rejects invalid CBC padding, a wrong-sized content key and unauthentic GCM data', async () => {
    const key = randomBytes(32);
    for (const padLength of [0, 17, 255]) {
      const padded = xmlEncPad(ASSERTION);
      padded[padded.length - 1] = padLength;
      const el = handBuilt({
        contentAlgorithm: XENC_ALG.aes256Cbc,
        encryptedData: cbcRaw(key, padded),
        encryptedKey: oaepEncryptKey(activeKey.certPem, key),
      });
      expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /padding/);
    }
    const notBlocks = handBuilt({
      contentAlgorithm: XENC_ALG.aes256Cbc,
      encryptedData: cbcRaw(key, xmlEncPad(ASSERTION)).subarray(0, -3),
      encryptedKey: oaepEncryptKey(activeKey.certPem, key),
    });
    expectDecryptError(() => decryptEncryptedAssertion(notBlocks, [activeKey.privateKey]), /whole number of blocks/);

    const shortKey = handBuilt({
      contentAlgorithm: XENC_ALG.aes256Cbc,
      encryptedData: cbcRaw(randomBytes(16), xmlEncPad(ASSERTION)),
      encryptedKey: oaepEncryptKey(activeKey.certPem, randomBytes(16)),
    });
    expectDecryptError(() => decryptEncryptedAssertion(shortKey, [activeKey.privateKey]));

    const gcm = await encryptedAssertion({ certPem: activeKey.certPem, algorithms: { content: 'aes256-gcm' } });
    const value = find(gcm, NS.xenc, 'CipherValue').find((v) => (v.parentNode as Element).parentNode === childElements(gcm)[0])!;
    const bytes = Buffer.from(value.textContent!.replace(/\s+/g, ''), 'base64');
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
    value.textContent = bytes.toString('base64');
    expectDecryptError(() => decryptEncryptedAssertion(gcm, [activeKey.privateKey]), /GCM authentication/);
  });

  it('refuses CipherReference (no fetching of URIs) and malformed structure', async () => {
    const key = randomBytes(16);
    const withReference = handBuilt({
      contentAlgorithm: XENC_ALG.aes128Gcm,
      encryptedData: Buffer.alloc(0),
      encryptedKey: oaepEncryptKey(activeKey.certPem, key),
      cipherData: `<xenc:CipherData><xenc:CipherReference URI="http://169.254.169.254/latest"/></xenc:CipherData>`,
    });
    expectDecryptError(() => decryptEncryptedAssertion(withReference, [activeKey.privateKey]), /CipherReference/);

    const notBase64 = handBuilt({
      contentAlgorithm: XENC_ALG.aes128Gcm,
      encryptedData: Buffer.alloc(0),
      encryptedKey: oaepEncryptKey(activeKey.certPem, key),
      cipherData: `<xenc:CipherData><xenc:CipherValue>not*base64</xenc:CipherValue></xenc:CipherData>`,
    });
    expectDecryptError(() => decryptEncryptedAssertion(notBase64, [activeKey.privateKey]), /base64/);

    const el = await encryptedAssertion({ certPem: activeKey.certPem });
    // Another element kind than the one asked for.
    expectDecryptError(() => decryptEncryptedId(el, [activeKey.privateKey]), /expected EncryptedID/);
    // Unexpected children.
    const extra = el.cloneNode(true) as Element;
    extra.appendChild(el.ownerDocument!.createElementNS(NS.saml, 'saml:Assertion'));
    expectDecryptError(() => decryptEncryptedAssertion(extra, [activeKey.privateKey]), /unexpected/);
    // EncryptedData of Type Content.
    const content = el.cloneNode(true) as Element;
    childElements(content)[0]!.setAttribute('Type', XENC_ALG.typeContent);
    expectDecryptError(() => decryptEncryptedAssertion(content, [activeKey.privateKey]), /Type/);
    // No key at all.
    const keyless = el.cloneNode(true) as Element;
    for (const k of find(keyless, NS.xenc, 'EncryptedKey')) k.parentNode!.removeChild(k);
    expectDecryptError(() => decryptEncryptedAssertion(keyless, [activeKey.privateKey]), /no EncryptedKey/);
  });

  it('bounds the number of EncryptedKeys it will try', async () => {
    const el = await encryptedAssertion({ certPem: activeKey.certPem, keyPlacement: 'sibling' });
    const key = find(el, NS.xenc, 'EncryptedKey')[0]!;
    for (let i = 0; i < 4; i++) el.appendChild(key.cloneNode(true));
    expectDecryptError(() => decryptEncryptedAssertion(el, [activeKey.privateKey]), /too many/);
  });

  it('decrypts an EncryptedID from a test IdP response', async () => {
    const built = await idp.buildResponse({
      now: NOW,
      audience: 'https://bridge.example.net',
      recipient: 'https://bridge.example.net/acs',
      nameId: 'user@example.com',
      nameIdFormat: 'emailAddress',
      signAssertion: true,
      signResponse: false,
      encryptNameIdTo: { certPem: activeKey.certPem, algorithms: { content: 'aes128-gcm' } },
    });
    const doc = parseXmlStrict(built.xml);
    const encryptedId = find(doc.documentElement!, NS.saml, 'EncryptedID')[0]!;
    assert.equal(find(doc.documentElement!, NS.saml, 'NameID').length, 0);
    const nameId = parseXmlStrict(decryptEncryptedId(encryptedId, [activeKey.privateKey])).documentElement!;
    assert.equal(nameId.localName, 'NameID');
    assert.equal(nameId.namespaceURI, NS.saml);
    assert.equal(nameId.textContent, 'user@example.com');
    assert.equal(nameId.getAttribute('Format'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
  });
});
