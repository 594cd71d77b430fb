/**
 * GET /sso/:org/saml/metadata[?signed=true] (R-SAML-8) over HTTP on every engine: valid
 * against the OASIS schema (xmllint), every service certificate published active first (key
 * rollover), the configuration reflected, the signed form verified by xmlsec1.
 */
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';
import { validateWithXsd, verifyWithXmlsec1 } from '../../unit/saml/metadata/xml-schema.js';
import { auth, generateServiceCertificate, newOrg, text } from './metadata-fixtures.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');

for (const engine of testEngines()) {
  describe(`SP metadata export [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;

    before(async () => {
      t = await startTestApp({ engine });
    });
    after(() => t.close());

    const get = (path: string) => request(t.app).get(path).buffer(true).parse(text);

    it('an org without service certificates: valid metadata without keys; ?signed=true is 409', async () => {
      const { slug } = await newOrg(t);
      const r = await get(`/sso/${slug}/saml/metadata`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^application\/samlmetadata\+xml/);
      assert.ok(validateWithXsd(r.body, 'saml-schema-metadata-2.0.xsd').ok);
      assert.doesNotMatch(r.body, /KeyDescriptor/);
      const signed = await get(`/sso/${slug}/saml/metadata?signed=true`);
      assert.equal(signed.status, 409);
      assert.match(signed.body, /no active service certificate/);
    });

    it('publishes every service certificate, active first, and follows an activation (key rollover)', async () => {
      const { slug, key } = await newOrg(t);
      const active = await generateServiceCertificate(t, slug, key, 'current');
      const next = await generateServiceCertificate(t, slug, key, 'next');
      const certs = async () => {
        const r = await get(`/sso/${slug}/saml/metadata`);
        assert.ok(validateWithXsd(r.body, 'saml-schema-metadata-2.0.xsd').ok);
        const doc = new DOMParser().parseFromString(r.body, 'text/xml');
        return Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor')).map((k) => [
          k.getAttribute('use'),
          k.getElementsByTagNameNS(DS, 'X509Certificate')[0]!.textContent,
        ]);
      };
      assert.deepEqual(await certs(), [
        ['signing', body(active.pem)],
        ['encryption', body(active.pem)],
        ['signing', body(next.pem)],
        ['encryption', body(next.pem)],
      ]);
      await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates/${next.id}/activate`).set(auth(key)).expect(200);
      assert.deepEqual((await certs()).map(([use, cert]) => [use, cert === body(next.pem) ? 'next' : 'current']), [
        ['signing', 'next'],
        ['encryption', 'next'],
        ['signing', 'current'],
        ['encryption', 'current'],
      ]);

      const signed = await get(`/sso/${slug}/saml/metadata?signed=true`);
      assert.equal(signed.status, 200);
      assert.ok(validateWithXsd(signed.body, 'saml-schema-metadata-2.0.xsd').ok);
      assert.match(signed.body, /^<md:EntityDescriptor [^>]*><ds:Signature/, 'the signature is the first child');
      const x = verifyWithXmlsec1(signed.body, next.pem, `${MD}:EntityDescriptor`);
      assert.ok(x.ok, x.output);
      assert.equal(verifyWithXmlsec1(signed.body, active.pem, `${MD}:EntityDescriptor`).ok, false, 'signed by the ACTIVE key only');
    });

    it('reflects the configuration: SP entity id, AuthnRequestsSigned, NameID format, ACS and SLO URLs', async () => {
      const { slug, key } = await newOrg(t);
      await generateServiceCertificate(t, slug, key);
      const put = await request(t.app).put(`/api/v1/orgs/${slug}/sso`).set(auth(key)).send({
        spEntityId: 'urn:fedbridge:sp:custom',
        idpEntityId: 'https://idp.example',
        ssoLoginUrl: 'https://idp.example/sso',
        authnRequestSigned: true,
        authnRequestDestination: 'https://idp.example/sso',
        nameIdFormat: 'persistent',
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const r = await get(`/sso/${slug}/saml/metadata?download=1`);
      assert.match(String(r.headers['content-disposition']), new RegExp(`attachment; filename="${slug.replace(/\./g, '\\.')}-sp-metadata\\.xml"`));
      assert.match(r.body, /entityID="urn:fedbridge:sp:custom"/);
      assert.match(r.body, /AuthnRequestsSigned="true"/);
      assert.match(r.body, /WantAssertionsSigned="true"/);
      assert.match(r.body, /<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent<\/md:NameIDFormat>/);
      assert.match(r.body, new RegExp(`Location="${TEST_PUBLIC_URL}/sso/${slug.replace(/\./g, '\\.')}/saml/acs" index="0" isDefault="true"`));
      assert.equal((r.body.match(new RegExp(`SingleLogoutService Binding="[^"]+" Location="${TEST_PUBLIC_URL}/sso/${slug.replace(/\./g, '\\.')}/saml/slo"`, 'g')) ?? []).length, 2);
    });

    it('404 for an unknown org and for an org without SSO; 400 for a bad ?signed', async () => {
      assert.equal((await get('/sso/nobody.example/saml/metadata')).status, 404);
      const plain = await newOrg(t, { ssoEnabled: false });
      assert.equal((await get(`/sso/${plain.slug}/saml/metadata`)).status, 404);
      const { slug } = await newOrg(t);
      assert.equal((await get(`/sso/${slug}/saml/metadata?signed=yes`)).status, 400);
    });
  });
}
