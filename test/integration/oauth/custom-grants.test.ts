/**
 * R-OAUTH-3 custom grants through a real client library: RFC 8693 exchange of the SAML
 * session cookie, and the RFC 7522 SAML 2.0 bearer assertion grant (assertions signed at test
 * time by the test IdP), with the refusals each must make.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as client from 'openid-client';
import request from 'supertest';
import { revokeTokensForSession } from '../../../src/oauth/token-revocation.js';
import { revokeSession } from '../../../src/store/saml-sessions.js';
import { testEngines } from '../../support/databases.js';
import { generateTestKeyPair, signElementById, TestIdp, type TestKeyPair } from '../../support/test-idp.js';
import {
  createAccount,
  createSamlSession,
  exchangeCookie,
  ISSUER,
  NATIVE_CLIENT,
  oidcClient,
  postForm,
  refresh,
  registerClient,
  SAML2_BEARER,
  SESSION_TOKEN_TYPE,
  startHarness,
  TOKEN_ENDPOINT,
  TOKEN_EXCHANGE,
  type Harness,
} from './oauth-harness.js';

const IDP_ENTITY_ID = 'https://idp.acme.test/saml';

for (const engine of testEngines()) {
  describe(`OAuth custom grants [${engine.name}]`, () => {
    let h: Harness;
    let accountId: string;
    let nativeId: string;
    let config: client.Configuration;
    let jwks: ReturnType<typeof jose.createLocalJWKSet>;
    let idp: TestIdp;
    let bearerClientId: string;
    let bearerSecret: string;

    before(async () => {
      h = await startHarness(engine);
      accountId = await createAccount(h, { email: 'jane@acme.com' });
      ({ clientId: nativeId } = await registerClient(h, NATIVE_CLIENT));
      config = await oidcClient(h, nativeId);
      jwks = jose.createLocalJWKSet((await (await h.fetch(`${ISSUER}/.well-known/jwks.json`, {} as never)).json()) as jose.JSONWebKeySet);

      idp = new TestIdp({ entityId: IDP_ENTITY_ID });
      const auth = { Authorization: `Bearer ${h.t.superKey}` };
      const cert = await request(h.t.app).post('/api/v1/orgs/acme.com/certificates').set(auth).send({ alias: 'idp', certificate: idp.certPem });
      assert.equal(cert.status, 201, JSON.stringify(cert.body));
      const sso = await request(h.t.app)
        .put('/api/v1/orgs/acme.com/sso')
        .set(auth)
        .send({ spInitiated: true, idpEntityId: IDP_ENTITY_ID, ssoLoginUrl: 'https://idp.acme.test/sso', nameIdFormat: 'emailAddress' });
      assert.equal(sso.status, 200, JSON.stringify(sso.body));
      const created = await registerClient(h, {
        name: 'Server-side integration',
        type: 'confidential',
        grantTypes: [SAML2_BEARER, 'refresh_token'],
        scopes: ['openid', 'email'],
      });
      bearerClientId = created.clientId;
      bearerSecret = created.clientSecret!;
    });
    after(() => h.close());

    describe('RFC 8693: the SAML session cookie exchanged for tokens', () => {
      it('issues an RFC 9068 access token and a refresh token through openid-client', async () => {
        const { cookie } = await createSamlSession(h, accountId);
        const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
          subject_token: cookie,
          subject_token_type: SESSION_TOKEN_TYPE,
          scope: 'openid email offline_access',
        });
        assert.equal(tokens.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
        assert.ok(tokens.refresh_token);
        const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt' });
        assert.equal(protectedHeader.typ, 'at+jwt');
        assert.equal(payload.sub, accountId);
        assert.equal(payload.client_id, nativeId);
        assert.equal(payload.org, 'acme.com');
        assert.equal(payload.email, 'jane@acme.com');
        assert.equal(payload.scope, 'openid email');
        // The family it starts refreshes like any other.
        const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
        await jose.jwtVerify(refreshed.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api' });
      });

      it('refuses cookies that are unknown, malformed, revoked or expired, with invalid_grant', async () => {
        const { cookie, idHash } = await createSamlSession(h, accountId);
        await revokeSession(h.t.ctx.database.db, idHash, h.t.clock.now());
        const { cookie: old } = await createSamlSession(h, accountId);
        for (const token of [cookie, 'A'.repeat(43), 'short', `${cookie}x`]) {
          const r = await exchangeCookie(h, nativeId, token);
          assert.equal(r.status, 400, token);
          assert.equal(r.body.error, 'invalid_grant');
        }
        h.t.clock.advance(12 * 3600 * 1000 + 1);
        assert.equal((await exchangeCookie(h, nativeId, old)).body.error, 'invalid_grant');
      });

      it('refuses a wrong subject_token_type, delegation, or another audience', async () => {
        const { cookie } = await createSamlSession(h, accountId);
        const cases: Array<[Record<string, string>, string]> = [
          [{ subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 'invalid_request'],
          [{ actor_token: cookie, actor_token_type: SESSION_TOKEN_TYPE }, 'invalid_request'],
          [{ audience: 'https://elsewhere.example' }, 'invalid_target'],
          [{ resource: 'https://elsewhere.example' }, 'invalid_target'],
          [{ scope: 'openid admin' }, 'invalid_scope'],
        ];
        for (const [extra, error] of cases) {
          const r = await exchangeCookie(h, nativeId, cookie, extra);
          assert.equal(r.status, 400, JSON.stringify(extra));
          assert.equal(r.body.error, error, JSON.stringify(r.body));
        }
        // The cookie is still good afterwards: refusals consume nothing.
        assert.equal((await exchangeCookie(h, nativeId, cookie)).status, 200);
      });

      it('refuses a client not registered for the grant', async () => {
        const { clientId } = await registerClient(h, { ...NATIVE_CLIENT, name: 'Code only', grantTypes: ['authorization_code'], scopes: ['openid'] });
        const { cookie } = await createSamlSession(h, accountId);
        const r = await exchangeCookie(h, clientId, cookie);
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'unauthorized_client');
      });

      it('signing out of the SAML session revokes the refresh tokens made from it, and only those', async () => {
        const a = await createSamlSession(h, accountId);
        const b = await createSamlSession(h, accountId);
        const rtA = (await exchangeCookie(h, nativeId, a.cookie)).body.refresh_token as string;
        const rtB = (await exchangeCookie(h, nativeId, b.cookie)).body.refresh_token as string;
        await h.t.ctx.database.db.transaction().execute(async (trx) => {
          await revokeSession(trx, a.idHash, h.t.clock.now());
          const result = await revokeTokensForSession(trx, a.idHash);
          assert.equal(result.grants, 1);
        });
        assert.equal((await refresh(h, nativeId, rtA)).body.error, 'invalid_grant');
        assert.equal((await refresh(h, nativeId, rtB)).status, 200);
      });
    });

    describe('RFC 7522: SAML 2.0 bearer assertion', () => {
      async function assertionFor(opts: {
        nameId?: string;
        audience?: string;
        recipient?: string;
        signWith?: TestKeyPair;
        sign?: boolean;
        notOnOrAfter?: number;
        issuer?: string;
      } = {}): Promise<string> {
        const now = h.t.clock.now();
        const built = await idp.buildResponse({
          now,
          audience: opts.audience ?? TOKEN_ENDPOINT,
          recipient: opts.recipient ?? TOKEN_ENDPOINT,
          nameId: opts.nameId ?? 'jane@acme.com',
          nameIdFormat: 'emailAddress',
          ...(opts.issuer && { issuer: opts.issuer }),
          ...(opts.notOnOrAfter !== undefined && { notOnOrAfter: opts.notOnOrAfter, subjectConfirmationNotOnOrAfter: opts.notOnOrAfter }),
          signAssertion: false,
          signResponse: false,
        });
        const xml = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(built.xml)![0];
        const signed = opts.sign === false ? xml : signElementById(xml, built.assertionId, opts.signWith ?? idp.keyPair);
        return Buffer.from(signed, 'utf8').toString('base64url');
      }

      function bearer(assertion: string, extra: Record<string, string> = {}) {
        return postForm(h, '/oauth/token', { grant_type: SAML2_BEARER, assertion, ...extra }, { clientId: bearerClientId, clientSecret: bearerSecret });
      }

      it('issues tokens for a signed assertion through openid-client', async () => {
        const cc = await oidcClient(h, bearerClientId, bearerSecret);
        const tokens = await client.genericGrantRequest(cc, SAML2_BEARER, { assertion: await assertionFor(), scope: 'openid email' });
        const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt' });
        assert.equal(payload.sub, accountId);
        assert.equal(payload.client_id, bearerClientId);
        assert.ok(tokens.refresh_token);
      });

      it('accepts the SP entity id as Audience and Recipient', async () => {
        const r = await bearer(await assertionFor({ audience: ISSUER, recipient: ISSUER }));
        assert.equal(r.status, 200, JSON.stringify(r.body));
      });

      it('refuses a replayed assertion', async () => {
        const a = await assertionFor();
        assert.equal((await bearer(a)).status, 200);
        const again = await bearer(a);
        assert.equal(again.status, 400);
        assert.equal(again.body.error, 'invalid_grant');
        assert.match(again.body.error_description, /SSO_REPLAY/);
      });

      it('refuses unsigned, foreign-signed, tampered, mis-addressed, expired and unknown-subject assertions', async () => {
        const attacker = generateTestKeyPair({ commonName: 'attacker' });
        const good = Buffer.from(await assertionFor(), 'base64url').toString('utf8');
        const tampered = Buffer.from(good.replace('jane@acme.com', 'boss@acme.com'), 'utf8').toString('base64url');
        const cases: Array<[string, Promise<string> | string, RegExp]> = [
          ['unsigned', assertionFor({ sign: false }), /SSO_SIGNATURE/],
          ['signed by another key', assertionFor({ signWith: attacker }), /SSO_SIGNATURE/],
          ['tampered after signing', tampered, /SSO_SIGNATURE/],
          ['for another audience', assertionFor({ audience: 'https://other.example/token' }), /SSO_AUDIENCE/],
          ['for another recipient', assertionFor({ recipient: 'https://other.example/token' }), /SSO_SUBJECT_CONFIRMATION/],
          ['expired', assertionFor({ notOnOrAfter: h.t.clock.now() - 10 * 60_000 }), /SSO_SUBJECT_CONFIRMATION/],
          ['unknown subject', assertionFor({ nameId: 'nobody@acme.com' }), /SSO_NO_ACCOUNT/],
          ['unknown issuer', assertionFor({ issuer: 'https://idp.unknown.test' }), /SSO_ISSUER/],
          ['not base64', '%%%', /SSO_MALFORMED/],
          ['a DOCTYPE', Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><x/>').toString('base64url'), /SSO_MALFORMED/],
        ];
        for (const [label, pending, expected] of cases) {
          const r = await bearer(await pending);
          assert.equal(r.status, 400, label);
          assert.equal(r.body.error, 'invalid_grant', label);
          assert.match(r.body.error_description, expected, `${label}: ${r.body.error_description}`);
        }
      });

      it('refuses a missing assertion and a client not registered for the grant', async () => {
        const missing = await postForm(h, '/oauth/token', { grant_type: SAML2_BEARER }, { clientId: bearerClientId, clientSecret: bearerSecret });
        assert.equal(missing.body.error, 'invalid_request');
        const r = await postForm(h, '/oauth/token', { grant_type: SAML2_BEARER, client_id: nativeId, assertion: await assertionFor() });
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'unauthorized_client');
      });
    });
  });
}
