/**
 * The strict XML-DSig profile on hand-written Signature shapes (no cryptography): every
 * structural rule refuses a crafted input with its own reason. Real signatures for the same
 * rules are in signed-content-verifier.test.ts.
 */
import assert from 'node:assert/strict';
import { SsoError } from '../../../src/saml/sso-error.js';
import type { SsoErrorCode } from '../../../src/saml/sso-error.js';
import { C14N_10, EXC_C14N, readSignatureParts, readSignedInfo } from '../../../src/xml/signature-profile.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { ALG } from '../../support/xml-signing.js';

const DS = 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"';
const ENV = `<ds:Transform Algorithm="${ALG.enveloped}"/>`;
const EXC = `<ds:Transform Algorithm="${ALG.excC14n}"/>`;
const DIGEST = `<ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue>AAAA</ds:DigestValue>`;

function signedInfo({
  c14n = `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/>`,
  method = `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"/>`,
  references = `<ds:Reference URI="#a"><ds:Transforms>${ENV}${EXC}</ds:Transforms>${DIGEST}</ds:Reference>`,
} = {}): string {
  return `<ds:SignedInfo ${DS}>${c14n}${method}${references}</ds:SignedInfo>`;
}

function read(xml: string, allowSha1 = false) {
  return readSignedInfo(parseXmlStrict(xml).documentElement!, { allowSha1 });
}

function refused(fn: () => unknown, code: SsoErrorCode, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SsoError, String(err));
    assert.equal(err.code, code, err.reason);
    assert.match(err.reason, reason);
    return true;
  });
}

describe('xml/signature-profile', () => {
  it('reads the usual SAML shape', () => {
    const p = read(signedInfo());
    assert.equal(p.referenceUri, '#a');
    assert.deepEqual(p.canonicalization, { algorithm: EXC_C14N, inclusivePrefixes: [] });
    assert.deepEqual(p.referenceCanonicalization, { algorithm: EXC_C14N, inclusivePrefixes: [] });
    assert.equal(p.signatureAlgorithm.hash, 'sha256');
    assert.equal(p.digestValue.length, 3);
  });

  it('implies C14N 1.0 after enveloped-signature alone, and reads PrefixLists', () => {
    const p = read(
      signedInfo({
        c14n: `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"><ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="saml  xs"/></ds:CanonicalizationMethod>`,
        references: `<ds:Reference URI="#a"><ds:Transforms>${ENV}</ds:Transforms>${DIGEST}</ds:Reference>`,
      }),
    );
    assert.deepEqual(p.canonicalization.inclusivePrefixes, ['saml', 'xs']);
    assert.deepEqual(p.referenceCanonicalization, { algorithm: C14N_10, inclusivePrefixes: [] });
  });

  const ref = (transforms: string, uri = 'URI="#a"', digest = DIGEST) =>
    `<ds:Reference ${uri}>${transforms}${digest}</ds:Reference>`;
  const cases: Array<[string, string, SsoErrorCode, RegExp]> = [
    ['two References', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`).repeat(2) }), 'SSO_SIGNATURE', /2 References/],
    ['no Reference', signedInfo({ references: '' }), 'SSO_SIGNATURE', /0 References/],
    ['Reference without URI', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, '') }), 'SSO_SIGNATURE', /no URI/],
    ['no Transforms', signedInfo({ references: ref('') }), 'SSO_SIGNATURE', /first transform must be enveloped/],
    ['empty Transforms', signedInfo({ references: ref('<ds:Transforms/>') }), 'SSO_SIGNATURE', /Transforms is empty/],
    ['three transforms', signedInfo({ references: ref(`<ds:Transforms>${ENV}${EXC}${EXC}</ds:Transforms>`) }), 'SSO_SIGNATURE', /more than two/],
    ['enveloped twice', signedInfo({ references: ref(`<ds:Transforms>${ENV}${ENV}</ds:Transforms>`) }), 'SSO_SIGNATURE', /enveloped-signature not allowed/],
    ['a foreign element among transforms', signedInfo({ references: ref(`<ds:Transforms>${ENV}<x:T xmlns:x="urn:x"/></ds:Transforms>`) }), 'SSO_SIGNATURE', /unexpected \{urn:x\}T/],
    ['XPath child in a C14N transform', signedInfo({ references: ref(`<ds:Transforms>${ENV}<ds:Transform Algorithm="${ALG.excC14n}"><ds:XPath>1</ds:XPath></ds:Transform></ds:Transforms>`) }), 'SSO_SIGNATURE', /unexpected ds:XPath/],
    ['InclusiveNamespaces in a foreign namespace', signedInfo({ c14n: `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"><InclusiveNamespaces xmlns="urn:x" PrefixList="a"/></ds:CanonicalizationMethod>` }), 'SSO_SIGNATURE', /unexpected \{urn:x\}InclusiveNamespaces/],
    ['content inside the enveloped transform\'s InclusiveNamespaces', signedInfo({ references: ref(`<ds:Transforms><ds:Transform Algorithm="${ALG.enveloped}"><InclusiveNamespaces xmlns="${ALG.enveloped}"><x/></InclusiveNamespaces></ds:Transform></ds:Transforms>`) }), 'SSO_SIGNATURE', /in InclusiveNamespaces/],
    ['CanonicalizationMethod missing', signedInfo({ c14n: '' }), 'SSO_SIGNATURE', /lacks ds:CanonicalizationMethod/],
    ['SignatureMethod before CanonicalizationMethod', signedInfo({ c14n: `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"/>`, method: `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/>` }), 'SSO_SIGNATURE', /lacks ds:CanonicalizationMethod/],
    ['CanonicalizationMethod without Algorithm', signedInfo({ c14n: '<ds:CanonicalizationMethod/>' }), 'SSO_SIGNATURE', /has no Algorithm/],
    ['C14N 1.1', signedInfo({ c14n: '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>' }), 'SSO_SIGNATURE', /xml-c14n11 not allowed/],
    ['HMACOutputLength', signedInfo({ method: `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"><ds:HMACOutputLength>0</ds:HMACOutputLength></ds:SignatureMethod>` }), 'SSO_SIGNATURE', /unexpected ds:HMACOutputLength/],
    ['DSA-SHA1', signedInfo({ method: '<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#dsa-sha1"/>' }), 'SSO_SIGNATURE', /dsa-sha1 not allowed/],
    ['MD5 digest', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, 'URI="#a"', '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/><ds:DigestValue>AAAA</ds:DigestValue>') }), 'SSO_SIGNATURE', /md5 not allowed/],
    ['SHA-1 digest', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, 'URI="#a"', `<ds:DigestMethod Algorithm="${ALG.sha1}"/><ds:DigestValue>AAAA</ds:DigestValue>`) }), 'SSO_WEAK_ALGORITHM', /sha1 uses SHA-1/],
    ['DigestValue not base64', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, 'URI="#a"', `<ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue>A*AA</ds:DigestValue>`) }), 'SSO_SIGNATURE', /DigestValue is not base64/],
    ['element inside DigestValue', signedInfo({ references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, 'URI="#a"', `<ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue>AA<x/>AA</ds:DigestValue>`) }), 'SSO_SIGNATURE', /unexpected content in ds:DigestValue/],
    ['text between SignedInfo children', signedInfo({ c14n: `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/>text` }), 'SSO_SIGNATURE', /text content inside ds:SignedInfo/],
  ];
  for (const [name, xml, code, reason] of cases) {
    it(`refuses: ${name}`, () => refused(() => read(xml), code, reason));
  }

  it('accepts rsa-sha1 and a sha1 digest only with allowSha1', () => {
    const xml = signedInfo({
      method: `<ds:SignatureMethod Algorithm="${ALG.rsaSha1}"/>`,
      references: ref(`<ds:Transforms>${ENV}</ds:Transforms>`, 'URI="#a"', `<ds:DigestMethod Algorithm="${ALG.sha1}"/><ds:DigestValue>AAAA</ds:DigestValue>`),
    });
    refused(() => read(xml), 'SSO_WEAK_ALGORITHM', /rsa-sha1/);
    assert.equal(read(xml, true).digestAlgorithm.hash, 'sha1');
  });

  describe('Signature shape', () => {
    const si = signedInfo();
    const sig = (inner: string) => parseXmlStrict(`<ds:Signature ${DS}>${inner}</ds:Signature>`).documentElement!;
    it('SignedInfo, SignatureValue, optional KeyInfo', () => {
      const parts = readSignatureParts(sig(`${si}<ds:SignatureValue>AA\n AA</ds:SignatureValue><ds:KeyInfo/>`));
      assert.equal(parts.signatureValue.length, 3);
      assert.ok(parts.keyInfo);
    });
    const bad: Array<[string, string, RegExp]> = [
      ['no SignatureValue', si, /lacks ds:SignatureValue/],
      ['two SignatureValues', `${si}<ds:SignatureValue>AAAA</ds:SignatureValue><ds:SignatureValue>AAAA</ds:SignatureValue>`, /unexpected ds:SignatureValue/],
      ['two SignedInfos', `${si}${si}<ds:SignatureValue>AAAA</ds:SignatureValue>`, /lacks ds:SignatureValue/],
      ['ds:Object', `${si}<ds:SignatureValue>AAAA</ds:SignatureValue><ds:Object/>`, /unexpected ds:Object/],
      ['KeyInfo before SignatureValue', `${si}<ds:KeyInfo/><ds:SignatureValue>AAAA</ds:SignatureValue>`, /lacks ds:SignatureValue/],
      ['empty SignatureValue', `${si}<ds:SignatureValue/>`, /not base64/],
    ];
    for (const [name, inner, reason] of bad) {
      it(`refuses: ${name}`, () => refused(() => readSignatureParts(sig(inner)), 'SSO_SIGNATURE', reason));
    }
  });
});
