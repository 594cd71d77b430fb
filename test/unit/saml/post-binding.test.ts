import assert from 'node:assert/strict';
import { SignedXml } from 'xml-crypto';
import { buildAuthnRequest, newSamlId } from '../../../src/saml/authn-request.js';
import { renderPostForm, signEnveloped } from '../../../src/saml/post-binding.js';
import { DSIG_ALG, NS } from '../../../src/saml/namespaces.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { childElements } from '../../../src/xml/dom.js';
import { generateTestKeyPair } from '../../support/test-idp.js';

const sp = generateTestKeyPair({ commonName: 'sp signing' });
const stranger = generateTestKeyPair({ commonName: 'stranger' });

function request(id = newSamlId()): string {
  return buildAuthnRequest({
    id,
    issueInstant: Date.UTC(2026, 0, 1),
    destination: 'https://idp.example.com/sso',
    acsUrl: 'https://bridge.example.net/sso/example.com/saml/acs',
    spEntityId: 'https://bridge.example.net',
    nameIdFormat: 'emailAddress',
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  });
}

/** xml-crypto as the independent checker, with the key pinned (KeyInfo ignored). */
function checkWith(xml: string, certPem: string): { valid: boolean; signer: SignedXml } {
  const doc = parseXmlStrict(xml);
  const signature = childElements(doc.documentElement!, NS.ds, 'Signature')[0];
  assert.ok(signature, 'no ds:Signature child of the root');
  const signer = new SignedXml({ publicCert: certPem });
  signer.loadSignature(signature as never);
  let valid = false;
  try {
    valid = signer.checkSignature(xml);
  } catch {
    valid = false;
  }
  return { valid, signer };
}

describe('saml/post-binding', () => {
  describe('signEnveloped', () => {
    it('produces an enveloped RSA-SHA256 / SHA-256 / exc-c14n signature xml-crypto accepts', () => {
      const id = newSamlId();
      const signed = signEnveloped(request(id), { key: sp.privateKey, cert: sp.certPem });
      const { valid, signer } = checkWith(signed, sp.certPem);
      assert.equal(valid, true);
      const refs = signer.getReferences();
      assert.equal(refs.length, 1);
      assert.equal(refs[0]!.uri, `#${id}`);
      assert.deepEqual(refs[0]!.transforms, [DSIG_ALG.envelopedSignature, DSIG_ALG.excC14n]);
      assert.equal(refs[0]!.digestAlgorithm, DSIG_ALG.sha256);
      assert.equal(signer.signatureAlgorithm, DSIG_ALG.rsaSha256);
      assert.equal(signer.canonicalizationAlgorithm, DSIG_ALG.excC14n);
    });

    it('places the Signature right after Issuer (schema order) and publishes the certificate', () => {
      const signed = signEnveloped(request(), { key: sp.privateKeyPem, cert: sp.certPem, idAttribute: 'ID' });
      const root = parseXmlStrict(signed).documentElement!;
      assert.deepEqual(
        childElements(root).map((c) => c.localName),
        ['Issuer', 'Signature', 'NameIDPolicy', 'RequestedAuthnContext'],
      );
      assert.ok(signed.includes(sp.certBase64));
    });

    it('a signature does not verify with another key, or after the message changes', () => {
      const signed = signEnveloped(request(), { key: sp.privateKey, cert: sp.certPem });
      assert.equal(checkWith(signed, stranger.certPem).valid, false);
      const tampered = signed.replace('https://bridge.example.net/sso/example.com/saml/acs', 'https://evil.example/acs');
      assert.notEqual(tampered, signed);
      assert.equal(checkWith(tampered, sp.certPem).valid, false);
    });

    it('prepends the Signature when there is no Issuer', () => {
      const xml = `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" ID="_x1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
      const signed = signEnveloped(xml, { key: sp.privateKey, cert: sp.certPem });
      assert.deepEqual(childElements(parseXmlStrict(signed).documentElement!).map((c) => c.localName), ['Signature', 'Status']);
      assert.equal(checkWith(signed, sp.certPem).valid, true);
    });

    it('refuses a root without ID rather than inventing one', () => {
      assert.throws(() => signEnveloped(`<samlp:AuthnRequest xmlns:samlp="${NS.samlp}"/>`, { key: sp.privateKey, cert: sp.certPem }), TypeError);
      assert.throws(() => signEnveloped('<a ID="_1"><b></a>', { key: sp.privateKey, cert: sp.certPem }), TypeError);
    });
  });

  describe('renderPostForm', () => {
    it('posts the value and RelayState to the endpoint with a nonce’d auto-submit and a noscript button', () => {
      const html = renderPostForm({
        endpoint: 'https://idp.example.com/sso?x=1&y=2',
        field: 'SAMLRequest',
        value: 'PHNhbWxwOkF1dGhuUmVxdWVzdD4+Cg==',
        relayState: 'abc',
        nonce: 'bm9uY2U=',
      });
      assert.match(html, /<form id="saml-post" method="post" action="https:\/\/idp\.example\.com\/sso\?x=1&amp;y=2">/);
      assert.match(html, /<input type="hidden" name="SAMLRequest" value="PHNhbWxwOkF1dGhuUmVxdWVzdD4\+Cg==">/);
      assert.match(html, /<input type="hidden" name="RelayState" value="abc">/);
      assert.match(html, /<script nonce="bm9uY2U=">document\.getElementById\('saml-post'\)\.submit\(\);<\/script>/);
      assert.match(html, /<noscript>[\s\S]*<button type="submit">Continue<\/button>[\s\S]*<\/noscript>/);
      assert.equal((html.match(/<script/g) ?? []).length, 1);
    });

    it('leaves RelayState out when there is none', () => {
      const html = renderPostForm({ endpoint: 'https://idp.example.com/', field: 'SAMLResponse', value: 'AA==' });
      assert.doesNotMatch(html, /RelayState/);
      assert.match(html, /name="SAMLResponse"/);
    });

    it('HTML-escapes every value so none can break out of its attribute', () => {
      const evil = `"><script>alert(1)</script><input name='x' value="`;
      const html = renderPostForm({ endpoint: `https://idp.example.com/?q=${evil}`, field: 'SAMLResponse', value: evil, relayState: evil });
      assert.equal((html.match(/<script/g) ?? []).length, 1);
      assert.equal(html.includes(evil), false);
      assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;input name=&#39;x&#39; value=&quot;'));
    });

    it('refuses endpoints that would run code and nonces that would break the tag', () => {
      for (const endpoint of ['javascript:alert(1)', 'data:text/html,x', 'not a url']) {
        assert.throws(() => renderPostForm({ endpoint, field: 'SAMLRequest', value: 'AA==' }), TypeError, endpoint);
      }
      assert.throws(
        () => renderPostForm({ endpoint: 'https://idp/', field: 'SAMLRequest', value: 'AA==', nonce: '"><script>' }),
        TypeError,
      );
    });
  });
});
