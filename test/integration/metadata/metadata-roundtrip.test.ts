/**
 * The metadata round trip (R-SAML-7 + R-SAML-8) with a peer we did not write: samlify plays the
 * IdP. Its metadata (signed AuthnRequests wanted, encrypted assertions, an SLO endpoint) is
 * imported through our API; our exported SP metadata is all samlify knows of us. Then, with
 * no other configuration than creating the user's account: an SP-initiated sign-in with a
 * signed AuthnRequest (samlify verifies it with the certificate from our metadata) and an
 * assertion samlify encrypts to the certificate from our metadata, ending with our session
 * cookie; then single logout (samlify verifies our signed LogoutRequest and answers).
 *
 * samlify reads the system clock, so the app runs with a ManualClock set to the real time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import * as samlify from 'samlify';
import request from 'supertest';
import { ManualClock } from '../../../src/clock.js';
import { testEngines } from '../../support/databases.js';
import { sessionCookieOf } from '../../support/saml-scenario.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';
import { generateTestKeyPair } from '../../support/test-idp.js';
import { auth, generateServiceCertificate, newOrg, text } from './metadata-fixtures.js';

const BINDING = samlify.Constants.namespace.binding;
const IDP_ENTITY_ID = 'https://samlify-roundtrip.example/idp';
const IDP_SSO = 'https://samlify-roundtrip.example/sso';
const IDP_SLO = 'https://samlify-roundtrip.example/slo';

samlify.setSchemaValidator({
  // Well-formedness only: what is under test is each side reading the other's metadata and messages.
  validate: async (xml: string) => {
    let problem: string | undefined;
    new DOMParser({ onError: (level, message) => void (level !== 'warning' && (problem ??= message)) }).parseFromString(xml, 'text/xml');
    if (problem !== undefined) throw new Error(`not well-formed: ${problem}`);
    return 'well-formed';
  },
});

const RESPONSE_TEMPLATE = samlify.SamlLib.defaultLoginResponseTemplate.context!.replace(
  '{AuthnStatement}',
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>' +
    '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
);

function rawParams(query: string): Record<string, string> {
  return Object.fromEntries(query.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

/** The octets a Redirect-binding query signature covers (saml-bindings §3.4.4.1), as sent. */
function octetString(query: string, kind: 'SAMLRequest' | 'SAMLResponse'): string {
  const raw = rawParams(query);
  return [kind, 'RelayState', 'SigAlg'].filter((k) => raw[k] !== undefined).map((k) => `${k}=${raw[k]}`).join('&');
}

for (const engine of testEngines()) {
  describe(`metadata round trip with samlify as the IdP [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;

    before(async () => {
      t = await startTestApp({ engine, clock: new ManualClock(Date.now()) });
    });
    after(() => t.close());

    it('IdP metadata in, SP metadata out, then a signed-request, encrypted-assertion sign-in and single logout', async () => {
      t.clock.set(Date.now());
      const { slug, key } = await newOrg(t);
      await generateServiceCertificate(t, slug, key);
      const idpKey = generateTestKeyPair({ commonName: 'samlify roundtrip idp' });
      const idp = samlify.IdentityProvider({
        entityID: IDP_ENTITY_ID,
        privateKey: idpKey.privateKeyPem,
        signingCert: idpKey.certPem,
        nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
        singleSignOnService: [
          { Binding: BINDING.post, Location: IDP_SSO },
          { Binding: BINDING.redirect, Location: IDP_SSO },
        ],
        singleLogoutService: [{ Binding: BINDING.redirect, Location: IDP_SLO }],
        wantAuthnRequestsSigned: true,
        isAssertionEncrypted: true,
        loginResponseTemplate: {
          context: RESPONSE_TEMPLATE,
          attributes: ['uid', 'email'].map((name) => ({ name, valueTag: name, nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic', valueXsiType: 'xs:string' })),
        },
      });

      // 1. samlify's IdP metadata into fedbridge.
      const imported = await request(t.app)
        .post(`/api/v1/orgs/${slug}/sso/metadata`)
        .set(auth(key))
        .set('Content-Type', 'application/samlmetadata+xml')
        .send(idp.getMetadata());
      assert.equal(imported.status, 200, JSON.stringify(imported.body));
      assert.equal(imported.body.changed.authnRequestSigned.after, true);
      assert.equal(imported.body.changed.ssoLoginBinding, undefined, 'Redirect preferred (already the default)');
      assert.equal(imported.body.changed.nameIdFormat.after, 'emailAddress');

      // 2. fedbridge's SP metadata into samlify: that is all samlify knows of us.
      const exported = await request(t.app).get(`/sso/${slug}/saml/metadata`).buffer(true).parse(text);
      assert.equal(exported.status, 200);
      assert.match(String(exported.headers['content-type']), /application\/samlmetadata\+xml/);
      assert.match(exported.body, /AuthnRequestsSigned="true"/);
      const sp = samlify.ServiceProvider({ metadata: exported.body, wantLogoutResponseSigned: true });
      assert.equal(sp.entityMeta.getEntityID(), TEST_PUBLIC_URL);

      // The user's account (the only thing set up besides the two metadata documents).
      const email = `round.trip@${slug}`;
      await request(t.app).post(`/api/v1/orgs/${slug}/users`).set(auth(key)).send({ uid: 'roundtrip', email, firstname: 'Round', lastname: 'Trip' }).expect(201);

      // 3. SP-initiated: our signed AuthnRequest (Redirect), verified by samlify from our metadata.
      const login = await request(t.app).get(`/sso/${slug}/login`).redirects(0);
      assert.equal(login.status, 302, login.text);
      const location = login.headers.location as string;
      assert.ok(location.startsWith(`${IDP_SSO}?`));
      const query = location.slice(location.indexOf('?') + 1);
      assert.match(query, /&Signature=/);
      const parsed = await idp.parseLoginRequest(sp, 'redirect', {
        query: Object.fromEntries(new URLSearchParams(query)),
        octetString: octetString(query, 'SAMLRequest'),
      });
      const requestInfo = parsed.extract.request as Record<string, string>;
      assert.equal(requestInfo.assertionConsumerServiceUrl, `${TEST_PUBLIC_URL}/sso/${slug}/saml/acs`);

      // 4. samlify answers with an assertion encrypted to the certificate in our metadata.
      const relayState = new URLSearchParams(query).get('RelayState') ?? undefined;
      const acsUrl = `${TEST_PUBLIC_URL}/sso/${slug}/saml/acs`;
      const built = (await idp.createLoginResponse(sp, { extract: parsed.extract }, 'post', { email }, {
        ...(relayState !== undefined ? { relayState } : {}),
        customTagReplacement: (template: string) => {
          const id = `_${randomUUID()}`;
          const now = new Date();
          const later = new Date(now.getTime() + 5 * 60_000).toISOString();
          return {
            id,
            context: samlify.SamlLib.replaceTagsByValue(template, {
              ID: id,
              AssertionID: `_${randomUUID()}`,
              Destination: acsUrl,
              Audience: sp.entityMeta.getEntityID(),
              EntityID: sp.entityMeta.getEntityID(),
              SubjectRecipient: acsUrl,
              Issuer: IDP_ENTITY_ID,
              IssueInstant: now.toISOString(),
              AssertionConsumerServiceURL: acsUrl,
              StatusCode: samlify.Constants.StatusCode.Success,
              ConditionsNotBefore: now.toISOString(),
              ConditionsNotOnOrAfter: later,
              SubjectConfirmationDataNotOnOrAfter: later,
              NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
              NameID: email,
              InResponseTo: requestInfo.id,
              SessionIndex: '_roundtrip-session',
              attrUid: 'roundtrip',
              attrEmail: email,
            }),
          };
        },
      })) as { context: string; entityEndpoint: string };
      assert.equal(built.entityEndpoint, acsUrl, 'samlify posts to the ACS of our metadata');
      assert.match(Buffer.from(built.context, 'base64').toString('utf8'), /EncryptedAssertion/);
      const acs = await request(t.app)
        .post(`/sso/${slug}/saml/acs`)
        .type('form')
        .send({ SAMLResponse: built.context, ...(relayState !== undefined ? { RelayState: relayState } : {}) })
        .redirects(0);
      assert.equal(acs.status, 302, acs.text.slice(0, 2000));
      const cookie = sessionCookieOf(acs);
      assert.ok(cookie, 'signed in: fedbridge_session set');

      // 5. Single logout: samlify verifies our signed LogoutRequest (with our metadata) and answers.
      const logout = await request(t.app).post('/logout').set('Cookie', `fedbridge_session=${cookie}`).redirects(0);
      assert.equal(logout.status, 302);
      const sloLocation = logout.headers.location as string;
      assert.ok(sloLocation.startsWith(`${IDP_SLO}?`), sloLocation);
      const sloQuery = sloLocation.slice(sloLocation.indexOf('?') + 1);
      const logoutRequest = await idp.parseLogoutRequest(sp, 'redirect', {
        query: Object.fromEntries(new URLSearchParams(sloQuery)),
        octetString: octetString(sloQuery, 'SAMLRequest'),
      });
      assert.equal(logoutRequest.extract.nameID, email);
      const answer = idp.createLogoutResponse(sp, { extract: logoutRequest.extract }, 'redirect', new URLSearchParams(sloQuery).get('RelayState') ?? '') as { context: string };
      assert.ok(answer.context.startsWith(`${TEST_PUBLIC_URL}/sso/${slug}/saml/slo?`), answer.context);
      assert.match(answer.context, /&Signature=/, 'samlify signs its LogoutResponse (our metadata asks for signed messages)');
      const done = await request(t.app).get(answer.context.slice(TEST_PUBLIC_URL.length)).redirects(0);
      assert.equal(done.status, 200, done.text);
      assert.match(done.text, /You have signed out/);
    });
  });
}
