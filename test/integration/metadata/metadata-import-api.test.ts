/**
 * POST /api/v1/orgs/:org/sso/metadata (R-SAML-7, Appendix A) over HTTP on every engine: the
 * real-world shapes under metadata/ through every content type, what an import changes (one
 * transaction, one audit entry), and every refusal (422/409/415/403) proved to change nothing.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { generateTestKeyPair, signElementById, TestIdp } from '../../support/test-idp.js';
import { auditEntries, auth, generateServiceCertificate, newOrg, sample, snapshot } from './metadata-fixtures.js';

const ADFS_ID = '_6d2e7e7a-2c43-4f6b-9a1a-2fd8c1e1b7a0';

for (const engine of testEngines()) {
  describe(`metadata import API [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;

    before(async () => {
      t = await startTestApp({ engine });
    });
    after(async () => {
      await t.close();
    });

    const post = (slug: string, key: string, query = '') => request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata${query}`).set(auth(key));
    const importXml = (slug: string, key: string, xml: string | Buffer, type = 'application/samlmetadata+xml', query = '') =>
      post(slug, key, query).set('Content-Type', type).send(typeof xml === 'string' ? Buffer.from(xml) : xml);

    it('imports AD FS FederationMetadata.xml: configuration, signing certificates (first active), SLO endpoint, one audit entry', async () => {
      const { slug, key, id } = await newOrg(t);
      const auditBefore = (await auditEntries(t, id)).length;
      const r = await importXml(slug, key, sample('adfs-federationmetadata.xml'));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.signature, 'none');
      assert.equal(r.body.entityId, 'http://adfs.example.com/adfs/services/trust');
      assert.deepEqual(r.body.changed.idpEntityId, { before: null, after: 'http://adfs.example.com/adfs/services/trust' });
      assert.deepEqual(r.body.changed.ssoLoginUrl, { before: null, after: 'https://adfs.example.com/adfs/ls/' });
      assert.deepEqual(r.body.changed.logoutUrl, { before: null, after: 'https://adfs.example.com/adfs/ls/' });
      assert.deepEqual(r.body.changed.nameIdFormat, { before: 'unspecified', after: 'emailAddress' });
      assert.equal(r.body.changed.ssoLoginBinding, undefined, 'redirect was already the value');
      assert.equal(r.body.certificatesImported.length, 2);
      assert.equal(r.body.url, null);

      const sso = (await request(t.app).get(`/api/v1/orgs/${slug}/sso`).set(auth(key)).expect(200)).body;
      assert.equal(sso.idpEntityId, 'http://adfs.example.com/adfs/services/trust');
      assert.equal(sso.ssoLoginBinding, 'redirect');
      assert.equal(sso.trustAllCertificates, false, 'an upload is not followed');

      const certs = (await request(t.app).get(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).expect(200)).body;
      assert.deepEqual(
        certs.map((c: { id: string; source: string; active: boolean }) => [c.id, c.source, c.active]),
        [
          [r.body.certificatesImported[0], 'metadata', true],
          [r.body.certificatesImported[1], 'metadata', false],
        ],
      );

      const audit = await auditEntries(t, id);
      assert.equal(audit.length, auditBefore + 1, 'exactly one audit entry');
      const entry = audit.at(-1)!;
      assert.equal(entry.action, 'sso.metadata.import');
      const details = JSON.parse(entry.details);
      assert.equal(details.certificatesImported.length, 2);
      assert.equal(details.after.idpEntityId, 'http://adfs.example.com/adfs/services/trust');
      assert.doesNotMatch(entry.details, /BEGIN CERTIFICATE|MII/, 'no certificate bodies in the audit log');

      const source = (await request(t.app).get(`/api/v1/orgs/${slug}/sso/metadata/source`).set(auth(key)).expect(200)).body;
      assert.equal(source.following, false);
      assert.deepEqual(source.singleLogoutService, {
        binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
        location: 'https://adfs.example.com/adfs/ls/',
        responseLocation: null,
      });
    });

    it('accepts every content type: text/xml, application/xml, multipart file or field, JSON {metadata}', async () => {
      const okta = await newOrg(t);
      let r = await importXml(okta.slug, okta.key, sample('okta-idp-metadata.xml'), 'text/xml');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.changed.authnRequestSigned, undefined, 'false was already the value');
      assert.equal(r.body.changed.nameIdFormat, undefined, 'unspecified was already the value');

      const entra = await newOrg(t);
      r = await post(entra.slug, entra.key).attach('metadata', Buffer.from(sample('entra-id-federationmetadata.xml')), 'federationmetadata.xml');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.certificatesImported.length, 2);

      const shib = await newOrg(t);
      r = await importXml(shib.slug, shib.key, sample('shibboleth-idp-metadata.xml'), 'application/xml');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.changed.nameIdFormat.after, 'persistent');
      assert.equal(r.body.validUntil, '2099-01-01T00:00:00.000Z');

      const agg = await newOrg(t);
      r = await post(agg.slug, agg.key).field('metadata', sample('federation-aggregate.xml')).field('entityId', 'https://idp-a.example.org/idp');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.entityId, 'https://idp-a.example.org/idp');

      const json = await newOrg(t);
      r = await post(json.slug, json.key).send({ metadata: sample('okta-idp-metadata.xml') });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.entityId, 'http://www.okta.com/exk1a2b3c4d5e6f7g8h9');

      // ?entityId= with a raw body.
      const q = await newOrg(t);
      r = await importXml(q.slug, q.key, sample('federation-aggregate.xml'), 'application/samlmetadata+xml', '?entityId=https%3A%2F%2Fidp-a.example.org%2Fidp');
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });

    it('a second import of the same document deduplicates its certificates and changes no field (still audited)', async () => {
      const { slug, key, id } = await newOrg(t);
      const first = await importXml(slug, key, sample('entra-id-federationmetadata.xml')).expect(200);
      const second = await importXml(slug, key, sample('entra-id-federationmetadata.xml')).expect(200);
      assert.deepEqual(second.body.changed, {});
      assert.deepEqual(second.body.certificatesImported, []);
      assert.deepEqual(
        second.body.certificates.map((c: { id: string }) => c.id),
        first.body.certificatesImported,
      );
      assert.equal((await request(t.app).get(`/api/v1/orgs/${slug}/certificates`).set(auth(key))).body.length, 2);
      assert.equal((await auditEntries(t, id)).filter((a) => a.action === 'sso.metadata.import').length, 2);
    });

    it('WantAuthnRequestsSigned="true" needs an active service certificate: 422 and nothing changed, then accepted', async () => {
      const { slug, key, id } = await newOrg(t);
      const before = await snapshot(t, id);
      const r = await importXml(slug, key, sample('federation-aggregate.xml'), 'text/xml', '?entityId=https://idp-b.example.org/idp');
      assert.equal(r.status, 422);
      assert.equal(r.body.errors[0].field, 'authnRequestSigned');
      assert.deepEqual(await snapshot(t, id), before);

      await generateServiceCertificate(t, slug, key);
      const ok = await importXml(slug, key, sample('federation-aggregate.xml'), 'text/xml', '?entityId=https://idp-b.example.org/idp');
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.changed.authnRequestSigned, { before: false, after: true });
      assert.deepEqual(ok.body.changed.authnRequestDestination, { before: null, after: 'https://idp-b.example.org/sso' });
      assert.deepEqual(ok.body.changed.ssoLoginBinding, { before: 'redirect', after: 'post' });
    });

    it('refuses bad documents with 422 and a reason, changing nothing', async () => {
      const { slug, key, id } = await newOrg(t);
      await importXml(slug, key, sample('okta-idp-metadata.xml')).expect(200);
      const before = await snapshot(t, id);
      const idp = new TestIdp({ entityId: 'https://other-idp.example' });
      const huge = sample('okta-idp-metadata.xml').replace('</md:IDPSSODescriptor>', `<!--${'x'.repeat(1024 * 1024)}--></md:IDPSSODescriptor>`);
      const cases: Array<[string, () => request.Test, RegExp, string?]> = [
        ['not XML', () => importXml(slug, key, 'this is not xml'), /not acceptable XML/],
        ['empty', () => importXml(slug, key, ''), /empty|send the metadata/],
        [
          'DOCTYPE (XXE)',
          () => importXml(slug, key, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${sample('okta-idp-metadata.xml').replace(/^<\?xml[^>]*>/, '')}`),
          /DOCTYPE/,
        ],
        ['not metadata', () => importXml(slug, key, '<html><body>login</body></html>'), /not SAML 2.0 metadata/],
        [
          'no IdP role (SP metadata)',
          () => importXml(slug, key, sample('federation-aggregate.xml'), 'text/xml', '?entityId=https://sp.example.org/shibboleth'),
          /no identity provider role/,
        ],
        ['over 1 MiB (raw body)', () => importXml(slug, key, huge), /larger than 1 MiB/],
        ['over 1 MiB (multipart file)', () => post(slug, key).attach('metadata', Buffer.from(huge), 'big.xml'), /larger than 1 MiB/],
        [
          'validUntil in the past',
          () => importXml(slug, key, idp.metadataXml({ ssoUrl: 'https://other-idp.example/sso' }).replace('<md:EntityDescriptor ', '<md:EntityDescriptor validUntil="2020-01-01T00:00:00Z" ')),
          /expired/,
        ],
        ['several IdPs without entityId', () => importXml(slug, key, sample('federation-aggregate.xml')), /choose one with \?entityId=/, 'entityId'],
        ['an entityId not in the document', () => importXml(slug, key, sample('okta-idp-metadata.xml'), 'text/xml', '?entityId=urn:nobody'), /no EntityDescriptor/, 'entityId'],
        ['an SSO endpoint over plain http', () => importXml(slug, key, idp.metadataXml({ ssoUrl: 'http://other-idp.example/sso' })), /https/, 'ssoLoginUrl'],
        ['a certificate that is not one', () => importXml(slug, key, sample('okta-idp-metadata.xml').replace(/<ds:X509Certificate>[^<]+/, '<ds:X509Certificate>AAAA')), /signing certificate #1.*not usable/],
        ['both a document and a URL', () => post(slug, key).send({ metadata: sample('okta-idp-metadata.xml'), url: 'https://idp.example/md' }), /either/, 'url'],
        ['an unknown JSON field', () => post(slug, key).send({ metadata: sample('okta-idp-metadata.xml'), alias: 'x' }), /Unrecognized|unrecognized/],
        ['a bad metadata signing certificate', () => post(slug, key).send({ metadata: sample('okta-idp-metadata.xml'), metadataSigningCertificate: 'nope' }), /./, 'metadataSigningCertificate'],
      ];
      for (const [name, send, pattern, field] of cases) {
        const r = await send();
        assert.equal(r.status, 422, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.type, 'application/problem+json', name);
        assert.match(r.body.detail, pattern, `${name}: ${r.body.detail}`);
        if (field) assert.equal(r.body.errors[0]?.field, field, name);
      }
      const unsupported = await importXml(slug, key, sample('okta-idp-metadata.xml'), 'application/octet-stream');
      assert.equal(unsupported.status, 415);
      assert.deepEqual(await snapshot(t, id), before, 'nothing changed');
    });

    it('refuses with 409 an import that would pass the limit of three organisation certificates, changing nothing', async () => {
      const { slug, key, id } = await newOrg(t);
      for (const alias of ['one', 'two']) {
        await request(t.app).post(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).send({ alias, certificate: generateTestKeyPair().certPem }).expect(201);
      }
      const before = await snapshot(t, id);
      const r = await importXml(slug, key, sample('adfs-federationmetadata.xml'));
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.match(r.body.detail, /limit of 3 organisation certificates/);
      assert.deepEqual(await snapshot(t, id), before);
      // One new certificate still fits.
      await importXml(slug, key, sample('okta-idp-metadata.xml')).expect(200);
    });

    describe('signed metadata', () => {
      const signer = generateTestKeyPair({ commonName: 'federation signer' });
      const stranger = generateTestKeyPair({ commonName: 'stranger' });
      const adfs = sample('adfs-federationmetadata.xml');

      it('with a configured metadata signing certificate: valid is trusted; unsigned, other key or altered is refused (nothing changed)', async () => {
        const { slug, key, id } = await newOrg(t);
        const set = await request(t.app).put(`/api/v1/orgs/${slug}/sso/metadata/source`).set(auth(key)).send({ metadataSigningCertificate: signer.certPem });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        assert.equal(set.body.metadataSigningCertificate.sha256Fingerprint.replace(/:/g, '').toLowerCase(), signer.fingerprint256);
        const before = await snapshot(t, id);
        for (const [name, doc, pattern] of [
          ['unsigned', adfs, /not signed/],
          ['signed by another key', signElementById(adfs, ADFS_ID, stranger), /not valid with the configured/],
          ['altered after signing', signElementById(adfs, ADFS_ID, signer).replace('https://adfs.example.com/adfs/ls/', 'https://evil.example/ls/'), /digest mismatch/],
        ] as const) {
          const r = await importXml(slug, key, doc);
          assert.equal(r.status, 422, name);
          assert.match(r.body.detail, pattern, name);
        }
        assert.deepEqual(await snapshot(t, id), before);
        const ok = await importXml(slug, key, signElementById(adfs, ADFS_ID, signer));
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.signature, 'valid');
        assert.equal(ok.body.signatureTrusted, true);
      });

      it('without one: the signature is checked against its own KeyInfo and reported (valid / invalid), not trusted', async () => {
        const { slug, key } = await newOrg(t);
        const valid = await importXml(slug, key, signElementById(adfs, ADFS_ID, signer));
        assert.equal(valid.status, 200);
        assert.equal(valid.body.signature, 'valid');
        assert.equal(valid.body.signatureTrusted, false);
        const altered = signElementById(adfs, ADFS_ID, signer).replace('emailAddress</NameIDFormat>', 'persistent</NameIDFormat>');
        const invalid = await importXml(slug, key, altered);
        assert.equal(invalid.status, 200);
        assert.equal(invalid.body.signature, 'invalid');
        assert.match(invalid.body.signatureReason, /digest mismatch/);
      });
    });

    it('authorization: a user administrator gets 403, and so does an organisation without SSO (R-ORG-2)', async () => {
      const { slug, key, id } = await newOrg(t);
      const userAdmin = (await request(t.app).post(`/api/v1/orgs/${slug}/api-keys`).set(auth(key)).send({ role: 'userAdmin', label: 'u' }).expect(201)).body.key;
      const before = await snapshot(t, id);
      assert.equal((await importXml(slug, userAdmin, sample('okta-idp-metadata.xml'))).status, 403);
      assert.equal((await request(t.app).put(`/api/v1/orgs/${slug}/sso/metadata/source`).set(auth(userAdmin)).send({ following: false })).status, 403);
      assert.deepEqual(await snapshot(t, id), before);
      const plain = await newOrg(t, { ssoEnabled: false });
      const r = await importXml(plain.slug, plain.key, sample('okta-idp-metadata.xml'));
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /not an SSO organisation/);
    });

    it('a metadata URL is refused (422, nothing changed) when it is not https or points at a private address', async () => {
      const { slug, key, id } = await newOrg(t);
      const before = await snapshot(t, id);
      for (const [url, pattern] of [
        ['http://idp.example.com/metadata', /https/],
        ['https://127.0.0.1:9/metadata', /resolves to 127\.0\.0\.1/],
        ['https://[::1]/metadata', /resolves to ::1/],
        ['https://169.254.169.254/latest/meta-data', /resolves to 169\.254\.169\.254/],
        ['https://user:secret@idp.example.com/md', /user name or password/],
      ] as const) {
        const r = await post(slug, key).send({ url });
        assert.equal(r.status, 422, url);
        assert.equal(r.body.errors[0].field, 'url');
        assert.match(r.body.detail, pattern, url);
      }
      assert.deepEqual(await snapshot(t, id), before);
    });
  });
}
