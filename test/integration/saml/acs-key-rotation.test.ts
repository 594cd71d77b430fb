/**
 * R-SAML-7 at the ACS: while an org follows its IdP's metadata URL, a Response signed by a key
 * the org does not know yet makes the bridge refetch the metadata once (rate limited) and, when
 * the document now carries that key, verify again — an IdP key rollover needs no admin. A key
 * the document does not carry is still refused, and nothing is created.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';
import { generateTestKeyPair, TestIdp } from '../../support/test-idp.js';
import { auth, MetadataServer, newOrg } from '../metadata/metadata-fixtures.js';
import { ssoOutcome } from '../../support/saml-scenario.js';

for (const engine of testEngines()) {
  describe(`ACS follows an IdP key rollover through metadata (R-SAML-7) [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;
    let server: MetadataServer;

    before(async () => {
      t = await startTestApp({ engine, config: { metadataAllowPrivate: true } });
      server = await new MetadataServer().start();
    });
    after(async () => {
      await server.stop();
      await t.close();
    });

    it('refetches metadata on an unknown signing key and signs the user in with the new key', async () => {
      const idp = new TestIdp({ entityId: 'https://rolling-idp.example/saml' });
      const next = generateTestKeyPair({ commonName: 'rolled over idp key' });
      const { slug, key, id: orgId } = await newOrg(t);
      const metadata = (keyPair = idp.keyPair) =>
        new TestIdp({ entityId: idp.entityId, keyPair }).metadataXml({ ssoUrl: 'https://rolling-idp.example/sso' });
      server.body = metadata();
      await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata`).set(auth(key)).send({ url: server.url() }).expect(200);
      await request(t.app)
        .put(`/api/v1/orgs/${slug}/sso`)
        .set(auth(key))
        .send({ idpInitiated: true, autoAccountCreation: true, defaultTargetUrl: `${TEST_PUBLIC_URL}/home` })
        .expect(200);

      const acsUrl = `${TEST_PUBLIC_URL}/sso/${slug}/saml/acs`;
      const post = async (signWith: typeof next, user: string) => {
        const { base64 } = await idp.buildResponse({
          now: t.clock.now(),
          audience: TEST_PUBLIC_URL,
          recipient: acsUrl,
          destination: acsUrl,
          nameId: `${user}@${slug}`,
          nameIdFormat: 'emailAddress',
          attributes: { uid: user, firstname: 'Roll', lastname: 'Over', email: `${user}@${slug}` },
          signAssertion: true,
          signResponse: false,
          signWith,
        });
        return request(t.app).post(`/sso/${slug}/saml/acs`).type('form').send({ SAMLResponse: base64 });
      };
      const sessions = async () =>
        Number((await t.ctx.database.db.selectFrom('saml_sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow()).n);

      // The IdP rolled over but its metadata does not show the new key yet: refused, nothing made.
      const hitsBefore = server.hits;
      const refused = ssoOutcome(await post(next, 'early'));
      assert.equal(refused.ok, false);
      assert.equal(refused.ok === false && refused.code, 'SSO_SIGNATURE');
      assert.equal(server.hits, hitsBefore + 1, 'the unknown key triggered one metadata fetch');
      assert.equal(await sessions(), 0);

      // Within the rate-limit window a second unknown-key Response does not refetch.
      ssoOutcome(await post(next, 'early2'));
      assert.equal(server.hits, hitsBefore + 1);

      // After the window, with the new key published, the same kind of Response signs in.
      server.body = metadata(next);
      t.clock.advance(6 * 60_000);
      const accepted = ssoOutcome(await post(next, 'later'));
      assert.ok(accepted.ok, JSON.stringify(accepted));
      assert.equal(server.hits, hitsBefore + 2);
      assert.equal(await sessions(), 1);
    });
  });
}
