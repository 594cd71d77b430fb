/**
 * Sanity of the test IdP itself: what it signs verifies with xml-crypto and is accepted by
 * node-saml (an SP we did not write), what it encrypts node-saml decrypts, and its knobs do
 * what they say. Other tests trust it for valid and broken messages alike.
 */
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import type { Element } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { DSIG_ALG, NS, STATUS } from '../../../src/saml/namespaces.js';
import { NAME_ID_FORMAT_URN } from '../../../src/saml/name-id-formats.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { childElements, descendantElements } from '../../../src/xml/dom.js';
import { TestIdp, generateTestKeyPair, type BuildResponseOptions } from '../../support/test-idp.js';

const idp = new TestIdp({ entityId: 'https://idp.test.example/metadata' });
const sp = generateTestKeyPair({ commonName: 'sp' });
const ACS = 'https://bridge.example.net/sso/example.com/saml/acs';
const SP_ENTITY = 'https://bridge.example.net';

function options(now: number, extra: Partial<BuildResponseOptions> = {}): BuildResponseOptions {
  return {
    now,
    destination: ACS,
    audience: SP_ENTITY,
    recipient: ACS,
    nameId: 'jane@example.com',
    nameIdFormat: 'emailAddress',
    sessionIndex: '_session1',
    attributes: { email: 'jane@example.com', groups: ['a', 'b'] },
    signAssertion: true,
    signResponse: true,
    ...extra,
  };
}

function find(root: Element, ns: string, localName: string): Element[] {
  return [...descendantElements(root)].filter((el) => el.namespaceURI === ns && el.localName === localName);
}

/** Verifies the ds:Signature that is a direct child of `element`, with a pinned certificate. */
function xmlCryptoVerifies(xml: string, elementLocalName: 'Response' | 'Assertion', certPem: string): boolean {
  const root = parseXmlStrict(xml).documentElement!;
  const element = elementLocalName === 'Response' ? root : find(root, NS.saml, 'Assertion')[0]!;
  const signature = childElements(element, NS.ds, 'Signature')[0];
  if (!signature) return false;
  const verifier = new SignedXml({ publicCert: certPem });
  verifier.loadSignature(signature as never);
  try {
    if (!verifier.checkSignature(xml)) return false;
  } catch {
    return false;
  }
  return verifier.getReferences().every((ref) => ref.uri === `#${element.getAttribute('ID')}`);
}

function nodeSaml(extra: Partial<ConstructorParameters<typeof SAML>[0]> = {}): SAML {
  return new SAML({
    callbackUrl: ACS,
    issuer: SP_ENTITY,
    audience: SP_ENTITY,
    idpCert: idp.certPem,
    idpIssuer: idp.entityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: 'never' as never,
    acceptedClockSkewMs: 0,
    ...extra,
  });
}

describe('test/support/test-idp', () => {
  it('builds a Response whose Response and Assertion signatures verify with xml-crypto', async () => {
    const built = await idp.buildResponse(options(Date.UTC(2026, 0, 1)));
    assert.equal(Buffer.from(built.base64, 'base64').toString('utf8'), built.xml);
    assert.equal(xmlCryptoVerifies(built.xml, 'Response', idp.certPem), true);
    assert.equal(xmlCryptoVerifies(built.xml, 'Assertion', idp.certPem), true);
    assert.equal(xmlCryptoVerifies(built.xml, 'Assertion', sp.certPem), false);
    // Schema order: Signature right after Issuer in both.
    const root = parseXmlStrict(built.xml).documentElement!;
    assert.deepEqual(childElements(root).map((c) => c.localName), ['Issuer', 'Signature', 'Status', 'Assertion']);
    const assertion = childElements(root, NS.saml, 'Assertion')[0]!;
    assert.deepEqual(
      childElements(assertion).map((c) => c.localName),
      ['Issuer', 'Signature', 'Subject', 'Conditions', 'AuthnStatement', 'AttributeStatement'],
    );
    assert.equal(root.getAttribute('ID'), built.responseId);
    assert.equal(assertion.getAttribute('ID'), built.assertionId);
  });

  it('writes the fields it is given', async () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const built = await idp.buildResponse(options(now, {
      inResponseTo: '_req1',
      notBefore: now - 1000,
      notOnOrAfter: now + 60_000,
      subjectConfirmationNotOnOrAfter: now + 30_000,
      sessionNotOnOrAfter: now + 3_600_000,
      authnContextClassRef: 'urn:x:ctx',
      status: { code: STATUS.success },
    }));
    const root = parseXmlStrict(built.xml).documentElement!;
    assert.equal(root.getAttribute('InResponseTo'), '_req1');
    assert.equal(root.getAttribute('Destination'), ACS);
    const data = find(root, NS.saml, 'SubjectConfirmationData')[0]!;
    assert.equal(data.getAttribute('InResponseTo'), '_req1');
    assert.equal(data.getAttribute('Recipient'), ACS);
    assert.equal(data.getAttribute('NotOnOrAfter'), '2026-01-01T12:00:30Z');
    const conditions = find(root, NS.saml, 'Conditions')[0]!;
    assert.equal(conditions.getAttribute('NotBefore'), '2026-01-01T11:59:59Z');
    assert.equal(conditions.getAttribute('NotOnOrAfter'), '2026-01-01T12:01:00Z');
    assert.equal(find(root, NS.saml, 'Audience')[0]!.textContent, SP_ENTITY);
    assert.equal(find(root, NS.saml, 'NameID')[0]!.getAttribute('Format'), NAME_ID_FORMAT_URN.emailAddress);
    assert.equal(find(root, NS.saml, 'AuthnContextClassRef')[0]!.textContent, 'urn:x:ctx');
    assert.equal(find(root, NS.saml, 'AuthnStatement')[0]!.getAttribute('SessionNotOnOrAfter'), '2026-01-01T13:00:00Z');
    const groups = find(root, NS.saml, 'Attribute').find((a) => a.getAttribute('Name') === 'groups')!;
    assert.deepEqual(childElements(groups).map((v) => v.textContent), ['a', 'b']);
  });

  it('is accepted by node-saml as a signed sign-in response', async () => {
    const built = await idp.buildResponse(options(Date.now(), { attributes: { email: 'jane@example.com' } }));
    const { profile } = await nodeSaml().validatePostResponseAsync({ SAMLResponse: built.base64 });
    assert.equal(profile?.nameID, 'jane@example.com');
    assert.equal(profile?.nameIDFormat, NAME_ID_FORMAT_URN.emailAddress);
    assert.equal(profile?.issuer, idp.entityId);
    assert.equal(profile?.sessionIndex, '_session1');
    assert.equal(profile?.['email'], 'jane@example.com');
  });

  it('encrypts assertions node-saml can decrypt (OAEP + AES-256-GCM, and AES-128-CBC)', async () => {
    for (const content of ['aes256-gcm', 'aes128-cbc'] as const) {
      const built = await idp.buildResponse(options(Date.now(), {
        signResponse: true,
        encryptTo: { certPem: sp.certPem, algorithms: { content } },
      }));
      const root = parseXmlStrict(built.xml).documentElement!;
      assert.equal(find(root, NS.saml, 'Assertion').length, 0);
      assert.equal(find(root, NS.saml, 'EncryptedAssertion').length, 1);
      assert.equal(xmlCryptoVerifies(built.xml, 'Response', idp.certPem), true);
      const { profile } = await nodeSaml({ decryptionPvk: sp.privateKeyPem }).validatePostResponseAsync({ SAMLResponse: built.base64 });
      assert.equal(profile?.nameID, 'jane@example.com');
    }
  });

  it('node-saml rejects what the knobs break (the knobs are real)', async () => {
    const now = Date.now();
    const cases: Array<[string, Partial<BuildResponseOptions>]> = [
      ['unsigned', { signAssertion: false, signResponse: false }],
      ['signed by another key', { signWith: sp }],
      ['wrong audience', { audience: 'https://other.example' }],
      ['expired', { notBefore: now - 600_000, notOnOrAfter: now - 300_000 }],
      // (node-saml 5.1 does not check SubjectConfirmationData/@Recipient, so no such case here.)
      ['failed status', { status: { code: STATUS.responder, subCode: STATUS.authnFailed, message: 'no' } }],
      ['edited after signing', { signResponse: false, postSign: (xml) => xml.replace('jane@example.com</saml:NameID>', 'admin@example.com</saml:NameID>') }],
    ];
    for (const [name, extra] of cases) {
      const built = await idp.buildResponse(options(now, extra));
      await assert.rejects(nodeSaml().validatePostResponseAsync({ SAMLResponse: built.base64 }), name);
    }
  });

  it('omit and mutate change the document before signing, and it still verifies', async () => {
    const built = await idp.buildResponse(options(Date.UTC(2026, 0, 1), {
      omit: { destination: true, audienceRestriction: true },
      mutate: (doc) => {
        const nameId = find(doc.documentElement!, NS.saml, 'NameID')[0]!;
        nameId.setAttribute('SPNameQualifier', SP_ENTITY);
      },
    }));
    const root = parseXmlStrict(built.xml).documentElement!;
    assert.equal(root.hasAttribute('Destination'), false);
    assert.equal(find(root, NS.saml, 'AudienceRestriction').length, 0);
    assert.equal(find(root, NS.saml, 'NameID')[0]!.getAttribute('SPNameQualifier'), SP_ENTITY);
    assert.equal(xmlCryptoVerifies(built.xml, 'Assertion', idp.certPem), true);
  });

  it('omits the assertion on a non-success status unless told otherwise', async () => {
    const failed = await idp.buildResponse(options(Date.UTC(2026, 0, 1), { status: { code: STATUS.requester } }));
    assert.equal(find(parseXmlStrict(failed.xml).documentElement!, NS.saml, 'Assertion').length, 0);
    const withAssertion = await idp.buildResponse(options(Date.UTC(2026, 0, 1), { status: { code: STATUS.requester }, omit: { assertion: false } }));
    assert.equal(find(parseXmlStrict(withAssertion.xml).documentElement!, NS.saml, 'Assertion').length, 1);
  });

  it('signs with SHA-512 and with ECDSA keys on request', async () => {
    const sha512 = await idp.buildResponse(options(Date.UTC(2026, 0, 1), { sigAlg: DSIG_ALG.rsaSha512, digestAlg: DSIG_ALG.sha512, signResponse: false }));
    assert.ok(sha512.xml.includes(DSIG_ALG.rsaSha512) && sha512.xml.includes(DSIG_ALG.sha512));
    assert.equal(xmlCryptoVerifies(sha512.xml, 'Assertion', idp.certPem), true);

    const ecIdp = new TestIdp({ keyPair: generateTestKeyPair({ type: 'ec-p256' }) });
    const ecdsa = await ecIdp.buildResponse(options(Date.UTC(2026, 0, 1), { signResponse: false }));
    assert.ok(ecdsa.xml.includes(DSIG_ALG.ecdsaSha256));
    // xml-crypto cannot verify ECDSA; check the value by hand over the canonical SignedInfo.
    const root = parseXmlStrict(ecdsa.xml).documentElement!;
    const signature = find(root, NS.ds, 'Signature')[0]!;
    const value = Buffer.from(find(signature, NS.ds, 'SignatureValue')[0]!.textContent!, 'base64');
    assert.equal(value.length, 64);
    const signedInfo = new ExclusiveCanonicalization().process(find(signature, NS.ds, 'SignedInfo')[0]! as never, {}) as string;
    assert.ok(verify('sha256', Buffer.from(signedInfo), { key: ecIdp.keyPair.publicKey, dsaEncoding: 'ieee-p1363' }, value));
  });

  it('makes certificates with the requested validity', () => {
    const expired = generateTestKeyPair({ notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    const cert = new X509Certificate(expired.certPem);
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 2021);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(expired.fingerprint256, cert.fingerprint256.replace(/:/g, '').toLowerCase());
  });

  it('writes IdP metadata with its signing certificate', () => {
    const xml = idp.metadataXml({ ssoUrl: 'https://idp.test.example/sso', sloUrl: 'https://idp.test.example/slo', wantAuthnRequestsSigned: true });
    const root = parseXmlStrict(xml).documentElement!;
    assert.equal(root.getAttribute('entityID'), idp.entityId);
    assert.equal(find(root, NS.ds, 'X509Certificate')[0]!.textContent, idp.keyPair.certBase64);
    assert.equal(find(root, NS.md, 'IDPSSODescriptor')[0]!.getAttribute('WantAuthnRequestsSigned'), 'true');
  });
});
