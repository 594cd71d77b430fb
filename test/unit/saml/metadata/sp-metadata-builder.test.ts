import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import { ADVERTISED_ENCRYPTION_METHODS, buildSpMetadata, type SpMetadataInput } from '../../../../src/saml/metadata/sp-metadata-builder.js';
import { BINDING, NS } from '../../../../src/saml/namespaces.js';
import { signEnveloped } from '../../../../src/saml/post-binding.js';
import { childElements, textContent } from '../../../../src/xml/dom.js';
import { getPinnedKey } from '../../../../src/xml/pinned-keys.js';
import { verifySignedElement } from '../../../../src/xml/signed-content-verifier.js';
import { generateTestKeyPair, type TestKeyPair } from '../../../support/test-idp.js';
import { validateWithXsd, verifyWithXmlsec1 } from './xml-schema.js';

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');

describe('SP metadata builder (R-SAML-8)', () => {
  let active: TestKeyPair;
  let next: TestKeyPair;
  let input: SpMetadataInput;

  before(() => {
    active = generateTestKeyPair({ commonName: 'active' });
    next = generateTestKeyPair({ commonName: 'next' });
    input = {
      entityId: 'https://sp.fedbridge.test',
      id: 'fedbridge-org1-v3',
      acsUrl: 'https://sp.fedbridge.test/sso/example.com/saml/acs',
      sloUrl: 'https://sp.fedbridge.test/sso/example.com/saml/slo',
      authnRequestsSigned: true,
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      certificates: [active.certPem, next.certPem],
    };
  });

  it('is valid against the OASIS saml-schema-metadata-2.0.xsd, unsigned and signed, with and without certificates', () => {
    for (const doc of [
      buildSpMetadata(input),
      buildSpMetadata({ ...input, certificates: [], authnRequestsSigned: false }),
      signEnveloped(buildSpMetadata(input), { key: active.privateKey, cert: active.certPem }),
      buildSpMetadata({ ...input, validUntil: Date.UTC(2030, 0, 1) }),
    ]) {
      const r = validateWithXsd(doc, 'saml-schema-metadata-2.0.xsd');
      assert.ok(r.ok, r.output);
    }
  });

  it('the schema check can fail: a document with the ACS before NameIDFormat is refused by xmllint', () => {
    const broken = buildSpMetadata(input).replace(/(<md:NameIDFormat>[^<]*<\/md:NameIDFormat>)(<md:AssertionConsumerService[^>]*\/>)/, '$2$1');
    assert.notEqual(broken, buildSpMetadata(input));
    assert.equal(validateWithXsd(broken, 'saml-schema-metadata-2.0.xsd').ok, false);
  });

  it('publishes every certificate for signing and encryption, active first, and the endpoints', () => {
    const root = parse(buildSpMetadata(input));
    assert.equal(root.getAttribute('entityID'), input.entityId);
    const [sp] = childElements(root, NS.md, 'SPSSODescriptor');
    assert.ok(sp);
    assert.equal(sp.getAttribute('AuthnRequestsSigned'), 'true');
    assert.equal(sp.getAttribute('WantAssertionsSigned'), 'true');
    assert.equal(sp.getAttribute('protocolSupportEnumeration'), NS.samlp);
    const keys = childElements(sp, NS.md, 'KeyDescriptor').map((k) => ({
      use: k.getAttribute('use'),
      cert: textContent(k.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0] as Element),
      methods: childElements(k, NS.md, 'EncryptionMethod').map((m) => m.getAttribute('Algorithm')),
    }));
    assert.deepEqual(
      keys.map((k) => [k.use, k.cert]),
      [
        ['signing', body(active.certPem)],
        ['encryption', body(active.certPem)],
        ['signing', body(next.certPem)],
        ['encryption', body(next.certPem)],
      ],
    );
    assert.deepEqual(keys[1]!.methods, [...ADVERTISED_ENCRYPTION_METHODS]);
    assert.deepEqual(keys[0]!.methods, []);
    const slo = childElements(sp, NS.md, 'SingleLogoutService').map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')]);
    assert.deepEqual(slo, [
      [BINDING.httpRedirect, input.sloUrl],
      [BINDING.httpPost, input.sloUrl],
    ]);
    assert.deepEqual(childElements(sp, NS.md, 'NameIDFormat').map(textContent), [input.nameIdFormat]);
    const [acs] = childElements(sp, NS.md, 'AssertionConsumerService');
    assert.equal(acs?.getAttribute('Binding'), BINDING.httpPost);
    assert.equal(acs?.getAttribute('Location'), input.acsUrl);
    assert.equal(acs?.getAttribute('index'), '0');
    assert.equal(acs?.getAttribute('isDefault'), 'true');
  });

  it('escapes configured values (an entity id cannot inject markup)', () => {
    const xml = buildSpMetadata({ ...input, entityId: 'urn:x"><md:Extensions/>' });
    assert.equal(parse(xml).getAttribute('entityID'), 'urn:x"><md:Extensions/>');
    assert.ok(validateWithXsd(xml, 'saml-schema-metadata-2.0.xsd').ok);
  });

  it('signed: ds:Signature is the first child of EntityDescriptor, verified by our verifier and by xmlsec1', () => {
    const signed = signEnveloped(buildSpMetadata(input), { key: active.privateKey, cert: active.certPem });
    const root = parse(signed);
    const first = childElements(root)[0];
    assert.equal(first?.localName, 'Signature');
    assert.equal(first?.namespaceURI, NS.ds);
    const verified = verifySignedElement(root, [getPinnedKey(active.certPem)], { allowSha1: false });
    assert.equal(verified.referenceId, input.id);
    assert.throws(() => verifySignedElement(root, [getPinnedKey(next.certPem)], { allowSha1: false }), /not verified/);

    const x = verifyWithXmlsec1(signed, active.certPem, 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor');
    assert.ok(x.ok, x.output);
    const tampered = signed.replace(input.acsUrl, 'https://evil.example/acs');
    assert.equal(verifyWithXmlsec1(tampered, active.certPem, 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor').ok, false);
  });
});
