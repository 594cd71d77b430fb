/**
 * The steps that establish what is signed (R-SAML-3 rules 4–5, R-SAML-10):
 * verify-response-signature, decrypt-assertion, select-assertion, verify-assertion-signature.
 * Responses are made at test time by the TestIdp (xml-crypto signatures, xml-encryption
 * ciphertext). Beyond the codes, these tests prove the "read only what was signed" rule: what
 * the steps pass on is the re-parsed signed content, and after verify-assertion-signature
 * nothing of the received document is left in the context.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/clock.js';
import { checkEnvelope } from '../../../../src/saml/acs/check-envelope.js';
import type { AssertionSelected, ReceivedResponse } from '../../../../src/saml/acs/context.js';
import { decodeBody } from '../../../../src/saml/acs/decode-body.js';
import { decryptAssertion } from '../../../../src/saml/acs/decrypt-assertion.js';
import { parseXml } from '../../../../src/saml/acs/parse-xml.js';
import { selectAssertion } from '../../../../src/saml/acs/select-assertion.js';
import { verifyAssertionSignature } from '../../../../src/saml/acs/verify-assertion-signature.js';
import { verifyResponseSignature } from '../../../../src/saml/acs/verify-response-signature.js';
import { DSIG_ALG, NS } from '../../../../src/saml/namespaces.js';
import { SsoError, type SsoErrorCode } from '../../../../src/saml/sso-error.js';
import { childElements, textContent } from '../../../../src/xml/dom.js';
import { TestIdp, encryptElement, generateTestKeyPair, signElementById } from '../../../support/test-idp.js';
import { tamperCbcCiphertext } from '../../../support/saml-scenario.js';
import { FakeAcsBackend, IDP_ENTITY_ID, NOW, responseOptions, settings } from './acs-fixtures.js';

const idp = new TestIdp({ entityId: IDP_ENTITY_ID });
const attacker = generateTestKeyPair({ commonName: 'attacker' });
const spOld = generateTestKeyPair({ commonName: 'sp-old' });
const spNew = generateTestKeyPair({ commonName: 'sp-new' });

const options = responseOptions;

function received(xml: string, backend: FakeAcsBackend, allowSha1 = false): ReceivedResponse {
  const b = { settings: settings({ allowSha1 }), deps: backend.deps(), clock: new ManualClock(NOW) };
  return checkEnvelope(parseXml(decodeBody({ ...b, samlResponse: Buffer.from(xml, 'utf8').toString('base64') })));
}

/** verify-response-signature → decrypt-assertion → select-assertion → verify-assertion-signature. */
async function throughSignatures(xml: string, backend = new FakeAcsBackend([idp.keyPair.publicKey], [spOld.privateKey])) {
  const selected: AssertionSelected = selectAssertion(await decryptAssertion(await verifyResponseSignature(received(xml, backend))));
  return { selected, verified: await verifyAssertionSignature(selected), backend };
}

async function refusedWith(code: SsoErrorCode, promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SsoError, `expected SsoError, got ${String(err)}`);
    assert.equal(err.code, code, err.reason);
    return true;
  });
}

describe('ACS signature steps', function () {
  this.timeout(30_000);

  describe('verify-response-signature', () => {
    it('leaves an unsigned Response as received and asks for no key', async () => {
      const backend = new FakeAcsBackend([idp.keyPair.publicKey]);
      const r = received((await idp.buildResponse(options())).xml, backend);
      const out = await verifyResponseSignature(r);
      assert.equal(out.response.covered, false);
      assert.equal(out.response.element, r.response);
      assert.equal(backend.keyRequests.idp, 0);
    });

    it('replaces a signed Response by the one re-parsed from the signed octets', async () => {
      const backend = new FakeAcsBackend([idp.keyPair.publicKey]);
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true }));
      const r = received(built.xml, backend);
      const out = await verifyResponseSignature(r);
      assert.equal(out.response.covered, true);
      assert.notEqual(out.response.element, r.response, 'a new element');
      assert.notEqual(out.response.element.ownerDocument, r.response.ownerDocument, 'of a new document');
      assert.equal(childElements(out.response.element, NS.ds, 'Signature').length, 0, 'the signed octets exclude the signature');
      assert.equal(out.response.element.getAttribute('ID'), built.responseId);
    });

    it('refuses a Response signed by an untrusted key (its certificate in KeyInfo) [SSO_SIGNATURE]', async () => {
      const backend = new FakeAcsBackend([idp.keyPair.publicKey]);
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true, signWith: attacker }));
      await refusedWith('SSO_SIGNATURE', verifyResponseSignature(received(built.xml, backend)));
    });

    it('refuses a signed Response when the org trusts no key [SSO_SIGNATURE]', async () => {
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true }));
      await refusedWith('SSO_SIGNATURE', verifyResponseSignature(received(built.xml, new FakeAcsBackend([]))));
    });

    it('refuses RSA-SHA1 unless allowSha1 [SSO_WEAK_ALGORITHM]', async () => {
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true, sigAlg: DSIG_ALG.rsaSha1 }));
      const backend = new FakeAcsBackend([idp.keyPair.publicKey]);
      await refusedWith('SSO_WEAK_ALGORITHM', verifyResponseSignature(received(built.xml, backend)));
      const ok = await verifyResponseSignature(received(built.xml, backend, true));
      assert.equal(ok.response.covered, true);
    });

    it('refuses a signed Response edited after signing [SSO_SIGNATURE]', async () => {
      const built = await idp.buildResponse(
        options({ signAssertion: false, signResponse: true, postSign: (xml) => xml.replace('jane@acme.example', 'boss@acme.example') }),
      );
      await refusedWith('SSO_SIGNATURE', verifyResponseSignature(received(built.xml, new FakeAcsBackend([idp.keyPair.publicKey]))));
    });
  });

  describe('decrypt-assertion', () => {
    it('decrypts with every service key, so an IdP still encrypting to the previous certificate works', async () => {
      const built = await idp.buildResponse(options({ encryptTo: { certPem: spOld.certPem } }));
      const backend = new FakeAcsBackend([idp.keyPair.publicKey], [spNew.privateKey, spOld.privateKey]);
      const { verified } = await throughSignatures(built.xml, backend);
      assert.equal(verified.assertionId, built.assertionId);
      assert.equal(backend.keyRequests.service, 1);
    });

    it('asks for no service key when nothing is encrypted', async () => {
      const { backend } = await throughSignatures((await idp.buildResponse(options())).xml);
      assert.equal(backend.keyRequests.service, 0);
    });

    it('refuses ciphertext for another key [SSO_DECRYPT]', async () => {
      const built = await idp.buildResponse(options({ encryptTo: { certPem: attacker.certPem } }));
      await refusedWith('SSO_DECRYPT', throughSignatures(built.xml));
    });

    // In an UNSIGNED Response, every refusal of decrypt-assertion and select-assertion is
    // SSO_DECRYPT (decrypt-assertion.ts: no padding/parse oracle on unauthenticated AES-CBC);
    // the precise SSO_MALFORMED is kept only when a verified Response signature covers the
    // ciphertext. So each structural case below is shown both ways.

    it('refuses two EncryptedAssertions before decrypting either [SSO_MALFORMED signed, SSO_DECRYPT unsigned]', async () => {
      const built = await idp.buildResponse(options({ encryptTo: { certPem: spOld.certPem } }));
      const doubled = built.xml.replace(/(<saml:EncryptedAssertion[\s\S]*<\/saml:EncryptedAssertion>)/, '$1$1');
      assert.notEqual(doubled, built.xml);
      const backend = new FakeAcsBackend([idp.keyPair.publicKey], [spOld.privateKey]);
      await refusedWith('SSO_DECRYPT', throughSignatures(doubled, backend));
      await refusedWith('SSO_MALFORMED', throughSignatures(signElementById(doubled, built.responseId, idp.keyPair), backend));
      assert.equal(backend.keyRequests.service, 0);
    });

    it('refuses an EncryptedAssertion that decrypts to something else than an Assertion [SSO_MALFORMED signed, SSO_DECRYPT unsigned]', async () => {
      const encrypted = await encryptElement(`<saml:NameID xmlns:saml="${NS.saml}">x</saml:NameID>`, 'EncryptedAssertion', { certPem: spOld.certPem });
      const built = await idp.buildResponse(options({ signAssertion: false, omit: { assertion: true } }));
      const xml = built.xml.replace('</samlp:Response>', `${encrypted}</samlp:Response>`);
      await refusedWith('SSO_DECRYPT', throughSignatures(xml));
      await refusedWith('SSO_MALFORMED', throughSignatures(signElementById(xml, built.responseId, idp.keyPair)));
    });

    it('refuses a decrypted Assertion with a DOCTYPE (the plaintext gets the strict parser too) [SSO_MALFORMED signed, SSO_DECRYPT unsigned]', async () => {
      const inner = (await idp.buildResponse(options())).xml;
      const assertionXml = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(inner)![0];
      const encrypted = await encryptElement(`<!DOCTYPE x [<!ENTITY e "y">]>${assertionXml}`, 'EncryptedAssertion', { certPem: spOld.certPem });
      const built = await idp.buildResponse(options({ signAssertion: false, omit: { assertion: true } }));
      const xml = built.xml.replace('</samlp:Response>', `${encrypted}</samlp:Response>`);
      await refusedWith('SSO_DECRYPT', throughSignatures(xml));
      await refusedWith('SSO_MALFORMED', throughSignatures(signElementById(xml, built.responseId, idp.keyPair)));
    });

    it('answers SSO_DECRYPT alike for bad CBC padding and for garbage plaintext in an unsigned Response, with the cause only in the reason', async () => {
      const built = await idp.buildResponse(options({ encryptTo: { certPem: spOld.certPem, algorithms: { content: 'aes128-cbc' } } }));
      const cases = [
        ['padding', /invalid padding/],
        ['plaintext', /SSO_MALFORMED/],
      ] as const;
      for (const [how, cause] of cases) {
        await assert.rejects(throughSignatures(tamperCbcCiphertext(built.xml, how)), (err: unknown) => {
          assert.ok(err instanceof SsoError);
          assert.equal(err.code, 'SSO_DECRYPT', `${how}: ${err.reason}`);
          assert.match(err.reason, cause, `${how}: the logged reason keeps the cause`);
          return true;
        });
      }
    });

    it('decrypted content of a signed Response counts as signed (no Assertion signature needed)', async () => {
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true, encryptTo: { certPem: spOld.certPem } }));
      const { verified } = await throughSignatures(built.xml);
      assert.deepEqual(verified.signedBy, { response: true, assertion: false });
    });
  });

  describe('select-assertion', () => {
    const cases: Array<[string, (xml: string, assertion: string) => string]> = [
      ['no Assertion', (xml, a) => xml.replace(a, '')],
      ['two Assertions', (xml, a) => xml.replace(a, a + a.replace(/ID="[^"]+"/, 'ID="_twin"'))],
    ];
    for (const [name, edit] of cases) {
      it(`refuses ${name} [SSO_MALFORMED]`, async () => {
        const built = await idp.buildResponse(options());
        const a = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(built.xml)![0];
        await refusedWith('SSO_MALFORMED', throughSignatures(edit(built.xml, a)));
      });
    }

    it('refuses an Assertion next to an EncryptedAssertion [SSO_MALFORMED signed, SSO_DECRYPT unsigned]', async () => {
      const plain = await idp.buildResponse(options());
      const a = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(plain.xml)![0];
      const enc = await idp.buildResponse(options({ encryptTo: { certPem: spOld.certPem } }));
      const xml = enc.xml.replace('</samlp:Response>', `${a}</samlp:Response>`);
      // Unsigned Response around an EncryptedAssertion: one code (see decrypt-assertion above).
      await refusedWith('SSO_DECRYPT', throughSignatures(xml));
      await refusedWith('SSO_MALFORMED', throughSignatures(signElementById(xml, enc.responseId, idp.keyPair)));
    });

    it('ignores an Assertion that is not a direct child of the Response', async () => {
      const built = await idp.buildResponse(options());
      const a = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(built.xml)![0];
      // The signed Assertion hidden in Extensions: the Response then holds no consumable Assertion.
      const hidden = built.xml.replace(a, '').replace('<samlp:Status>', `<samlp:Extensions>${a}</samlp:Extensions><samlp:Status>`);
      await refusedWith('SSO_MALFORMED', throughSignatures(hidden));
    });
  });

  describe('verify-assertion-signature', () => {
    it('refuses when neither the Response nor the Assertion is signed [SSO_SIGNATURE]', async () => {
      const built = await idp.buildResponse(options({ signAssertion: false }));
      await refusedWith('SSO_SIGNATURE', throughSignatures(built.xml));
    });

    it('refuses an Assertion signed by an untrusted key, even inside a trusted signed Response [SSO_SIGNATURE]', async () => {
      const built = await idp.buildResponse(options({ signAssertion: true, signWith: attacker }));
      await refusedWith('SSO_SIGNATURE', throughSignatures(built.xml));
      // Response signed by the IdP around an Assertion signed by the attacker: the broken inner signature is not ignored.
      const evilInner = await idp.buildResponse(options({ signAssertion: true, signWith: attacker }));
      const a = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(evilInner.xml)![0];
      const outer = await idp.buildResponse(
        options({ signAssertion: false, signResponse: false, postSign: (xml) => xml.replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, a) }),
      );
      const signedOuter = signElementById(outer.xml, outer.responseId, idp.keyPair);
      await refusedWith('SSO_SIGNATURE', throughSignatures(signedOuter));
    });

    it('passes on the re-parsed signed Assertion and nothing of the received document', async () => {
      const built = await idp.buildResponse(
        // A comment inside the signed NameID: exc-c14n drops it, so the signature holds.
        options({ postSign: (xml) => xml.replace('>jane@acme.example<', '>jane@acme<!-- x -->.example<') }),
      );
      const { selected, verified } = await throughSignatures(built.xml);
      assert.deepEqual(Object.keys(verified).sort(), ['assertion', 'assertionId', 'clock', 'deps', 'responseInResponseTo', 'settings', 'signedBy']);
      assert.notEqual(verified.assertion, selected.assertion.element);
      assert.notEqual(verified.assertion.ownerDocument, selected.response.element.ownerDocument);
      assert.equal(verified.assertion.ownerDocument!.documentElement, verified.assertion, 'the assertion is the root of its own signed document');
      const nameId = childElements(childElements(verified.assertion, NS.saml, 'Subject')[0]!, NS.saml, 'NameID')[0]!;
      assert.equal(nameId.childNodes.length, 1, 'the comment is gone from the signed content');
      assert.equal(textContent(nameId), 'jane@acme.example');
      assert.deepEqual(verified.signedBy, { response: false, assertion: true });
      assert.equal(verified.responseInResponseTo, undefined, 'an unsigned Response says nothing');
      assert.equal(verified.assertionId, built.assertionId);
    });

    it('uses the signed Response for the Assertion (and its InResponseTo) when only the Response is signed', async () => {
      const built = await idp.buildResponse(options({ signAssertion: false, signResponse: true }));
      const { selected, verified } = await throughSignatures(built.xml);
      assert.equal(verified.assertion, selected.assertion.element);
      assert.equal(verified.assertion.parentNode, selected.response.element, 'a child of the re-parsed signed Response');
      assert.deepEqual(verified.signedBy, { response: true, assertion: false });
      assert.equal(verified.responseInResponseTo, '_req1');
    });

    it('verifies both when both are signed', async () => {
      const built = await idp.buildResponse(options({ signAssertion: true, signResponse: true }));
      const { verified, backend } = await throughSignatures(built.xml);
      assert.deepEqual(verified.signedBy, { response: true, assertion: true });
      assert.equal(backend.keyRequests.idp, 2);
    });

    it('refuses a signed Assertion whose Version is not 2.0 [SSO_MALFORMED]', async () => {
      const built = await idp.buildResponse(
        options({ mutate: (doc) => (doc.getElementsByTagNameNS(NS.saml, 'Assertion')[0]!.setAttribute('Version', '1.1')) }),
      );
      await refusedWith('SSO_MALFORMED', throughSignatures(built.xml));
    });
  });
});
