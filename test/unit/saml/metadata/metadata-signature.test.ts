import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkMetadataSignature } from '../../../../src/saml/metadata/metadata-signature.js';
import { readIdpMetadata } from '../../../../src/saml/metadata/idp-metadata-reader.js';
import { DSIG_ALG } from '../../../../src/saml/namespaces.js';
import { parseXmlStrict } from '../../../../src/xml/strict-parser.js';
import { generateTestKeyPair, signElementById, type TestKeyPair } from '../../../support/test-idp.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const adfs = readFileSync(new URL('../../../../metadata/adfs-federationmetadata.xml', import.meta.url), 'utf8');
const ADFS_ID = '_6d2e7e7a-2c43-4f6b-9a1a-2fd8c1e1b7a0';
const root = (xml: string) => parseXmlStrict(xml).documentElement!;

describe('metadata signature (R-SAML-7 with the one verifier, R-SAML-10)', () => {
  let federation: TestKeyPair;
  let other: TestKeyPair;
  let signed: string;

  before(() => {
    federation = generateTestKeyPair({ commonName: 'metadata signer' });
    other = generateTestKeyPair({ commonName: 'someone else' });
    signed = signElementById(adfs, ADFS_ID, federation);
  });

  it('unsigned metadata: none', () => {
    const r = checkMetadataSignature(root(adfs), { trustedCertificate: federation.certPem, allowSha1: false });
    assert.equal(r.status, 'none');
    assert.equal(r.trusted, false);
  });

  it('signed by the configured certificate: valid and trusted; what is read is the signed content', () => {
    const r = checkMetadataSignature(root(signed), { trustedCertificate: federation.certPem, allowSha1: false });
    assert.equal(r.status, 'valid');
    assert.equal(r.trusted, true);
    // The returned root is a new document parsed from the digested octets: no ds:Signature in it.
    assert.equal(r.root.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature').length, 0);
    assert.equal(readIdpMetadata(r.root, { now: NOW }).entityId, 'http://adfs.example.com/adfs/services/trust');
  });

  it('signed by another key than the configured one: invalid', () => {
    const r = checkMetadataSignature(root(signElementById(adfs, ADFS_ID, other)), { trustedCertificate: federation.certPem, allowSha1: false });
    assert.equal(r.status, 'invalid');
    assert.match(r.reason ?? '', /not verified by any/);
  });

  it('changed after signing (an SSO endpoint swapped): invalid, with or without a configured certificate', () => {
    const tampered = signed.replaceAll('https://adfs.example.com/adfs/ls/', 'https://evil.example/adfs/ls/');
    for (const trustedCertificate of [federation.certPem, null]) {
      const r = checkMetadataSignature(root(tampered), { trustedCertificate, allowSha1: false });
      assert.equal(r.status, 'invalid');
      assert.match(r.reason ?? '', /digest mismatch/);
    }
  });

  it('without a configured certificate, the KeyInfo certificate shows integrity only (valid, not trusted)', () => {
    const r = checkMetadataSignature(root(signed), { trustedCertificate: null, allowSha1: false });
    assert.equal(r.status, 'valid');
    assert.equal(r.trusted, false);
    const noKeyInfo = signElementById(adfs, ADFS_ID, federation, { keyInfo: 'none' });
    const r2 = checkMetadataSignature(root(noKeyInfo), { trustedCertificate: null, allowSha1: false });
    assert.equal(r2.status, 'invalid');
    assert.match(r2.reason ?? '', /no usable certificate/);
  });

  it('SHA-1 only with allowSha1; two signatures are refused', () => {
    const sha1 = signElementById(adfs, ADFS_ID, federation, { sigAlg: DSIG_ALG.rsaSha1, digestAlg: DSIG_ALG.sha1 });
    assert.equal(checkMetadataSignature(root(sha1), { trustedCertificate: federation.certPem, allowSha1: false }).status, 'invalid');
    assert.equal(checkMetadataSignature(root(sha1), { trustedCertificate: federation.certPem, allowSha1: true }).status, 'valid');
    const twice = signed.replace(/(<ds:Signature[\s\S]*?<\/ds:Signature>)/, '$1$1');
    const r = checkMetadataSignature(root(twice), { trustedCertificate: federation.certPem, allowSha1: false });
    assert.equal(r.status, 'invalid');
    assert.match(r.reason ?? '', /more than one/);
  });

  it('a signature referencing another element is not a signature of the metadata', () => {
    // The reference points at a (signed) inner element; the root's own signature must cover the root.
    const withInnerId = adfs.replace('<IDPSSODescriptor ', '<IDPSSODescriptor ID="_inner" ');
    const innerSigned = signElementById(withInnerId, '_inner', federation);
    // Move the inner signature to the root: the Reference (#_inner) is not the root's ID.
    const sig = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(innerSigned)![0];
    const moved = innerSigned.replace(sig, '').replace(/(<EntityDescriptor[^>]*>)/, `$1${sig}`);
    const r = checkMetadataSignature(root(moved), { trustedCertificate: federation.certPem, allowSha1: false });
    assert.equal(r.status, 'invalid');
    assert.match(r.reason ?? '', /is not the signed element's ID/);
  });
});
