/**
 * The native-app journey of guide 003 against an IdP we did not write: openid-client
 * authorizes with PKCE, the browser goes through the real /sso/:org/login, samlify (playing
 * the org's IdP) verifies and answers the real signed AuthnRequest, the browser posts its
 * Response to the real ACS, comes back to the authorization, and the code becomes tokens →
 * refresh → refresh again → revoke; the revoked refresh token is then refused (invalid_grant)
 * and introspected as inactive.
 *
 * samlify is set up by test/support/samlify-idp.ts (the app's clock at the real time).
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as client from 'openid-client';
import { testEngines } from '../../support/databases.js';
import type { SamlScenario } from '../../support/saml-scenario.js';
import type { TestKeyPair } from '../../support/test-idp.js';
import { bridgeAsSp, fillResponseTemplate, IDP_SSO_URL, startSamlifyScenario, samlifyIdp } from '../../support/samlify-idp.js';
import { Browser, ISSUER, listen, NATIVE_CLIENT, oidcClient, postForm, refresh, registerClient, TOKEN_EXCHANGE, type Harness } from './oauth-harness.js';

const REDIRECT_URI = 'http://127.0.0.1:47011/callback';

for (const engine of testEngines()) {
  describe(`OAuth native-app journey, samlify as the IdP [${engine.name}]`, function () {
    this.timeout(120_000);
    let s: SamlScenario;
    let h: Harness;
    let key: TestKeyPair;

    before(async () => {
      ({ s, key } = await startSamlifyScenario(engine, { ssoLoginBinding: 'redirect', authnRequestSigned: true, authnRequestDestination: IDP_SSO_URL }));
      h = await listen(s.t, { id: s.orgId, slug: s.slug }, { closeApp: false });
    });
    after(async () => {
      await h?.close();
      await s?.close();
    });
    beforeEach(() => s.clock.set(Date.now()));

    it('authorize (PKCE) → /sso login → samlify → ACS → code → tokens → refresh → refresh → revoke', async () => {
      const idp = samlifyIdp(key, { wantAuthnRequestsSigned: true });
      const sp = bridgeAsSp(s, { wantAssertionsSigned: true, wantMessageSigned: true, authnRequestsSigned: true });
      const { clientId } = await registerClient(h, NATIVE_CLIENT);
      const gateway = await registerClient(h, { name: 'API gateway', type: 'confidential', grantTypes: [TOKEN_EXCHANGE], scopes: ['openid'] });
      const introspect = async (token: string) =>
        (await postForm(h, '/oauth/introspect', { token }, { clientId: gateway.clientId, clientSecret: gateway.clientSecret! })).body;
      const config = await oidcClient(h, clientId);
      const jwks = jose.createLocalJWKSet((await (await fetch(`${h.base}/.well-known/jwks.json`)).json()) as jose.JSONWebKeySet);
      const user = s.user('samlify-jane');

      // 1. openid-client builds the authorization request with PKCE S256.
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid email profile offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        login_hint: user.nameId,
      });
      const browser = new Browser(h);
      const toSso = await browser.follow(url.href);
      const ssoUrl = new URL(toSso.location!);
      assert.equal(ssoUrl.pathname, `/sso/${s.slug}/login`, `home-realm discovery chose the org: ${toSso.status} ${toSso.body.slice(0, 200)}`);

      // 2. The real SSO login sends a signed AuthnRequest (Redirect binding) to samlify.
      const toIdp = await browser.visit(ssoUrl.href);
      assert.ok([302, 303].includes(toIdp.status), `login answered ${toIdp.status}`);
      const idpUrl = toIdp.location!;
      assert.ok(idpUrl.startsWith(`${IDP_SSO_URL}?`), idpUrl);
      const rawQuery = idpUrl.slice(idpUrl.indexOf('?') + 1);
      const raw = Object.fromEntries(rawQuery.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
      assert.ok(raw.Signature && raw.SigAlg, 'the AuthnRequest is signed');
      // The octets the query signature covers (saml-bindings §3.4.4.1), as sent.
      const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].filter((k) => raw[k] !== undefined).map((k) => `${k}=${raw[k]}`).join('&');
      const query = Object.fromEntries(new URLSearchParams(rawQuery));
      const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
      const authnRequest = parsed.extract.request as Record<string, string>;
      assert.equal(parsed.extract.issuer, s.spEntityId, 'samlify read our Issuer');
      assert.equal(authnRequest.assertionConsumerServiceUrl, s.acsUrl);
      assert.ok(authnRequest.id);

      // 3. samlify answers it (signed Response and assertion); the browser posts it to the real ACS.
      const built = (await idp.createLoginResponse(sp, { extract: parsed.extract }, 'post', { email: user.nameId }, {
        ...(query.RelayState !== undefined && { relayState: query.RelayState }),
        customTagReplacement: fillResponseTemplate(
          idp,
          s,
          { nameId: user.nameId, uid: user.attributes.uid!, email: user.attributes.email!, firstname: 'Jane', lastname: 'Samlify' },
          authnRequest.id,
        ),
      })) as { context: string; entityEndpoint: string };
      assert.equal(built.entityEndpoint, s.acsUrl, 'samlify posts to our ACS');
      const back = await browser.follow(new URL(s.acsUrl).pathname, {
        SAMLResponse: built.context,
        ...(query.RelayState !== undefined && { RelayState: query.RelayState }),
      });
      assert.ok(browser.cookies.some((c) => c.name === 'fedbridge_session'), `the ACS set the session cookie (${back.status} ${back.body.slice(0, 300)})`);

      // 4. Back at the authorization: the client's loopback redirect with the code.
      const callback = new URL(back.location!);
      assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
      assert.equal(callback.searchParams.get('iss'), ISSUER);

      // 5. code → tokens, for the account the ACS provisioned from samlify's attributes.
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      const account = await s.t.ctx.database.db.selectFrom('accounts').selectAll().where('email_norm', '=', user.nameId).executeTakeFirstOrThrow();
      assert.equal(account.firstname, 'Jane');
      assert.equal(tokens.claims()?.sub, account.id);
      assert.equal(tokens.claims()?.email, user.nameId);
      assert.ok(tokens.refresh_token, 'a refresh token');
      const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt', algorithms: ['ES256'] });
      assert.equal(payload.sub, account.id);
      assert.equal(payload.org, s.slug);
      assert.equal(payload.client_id, clientId);

      // 6. refresh, refresh again: each rotates the refresh token and gives a verifiable access token.
      const r1 = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(r1.refresh_token && r1.refresh_token !== tokens.refresh_token);
      assert.equal((await jose.jwtVerify(r1.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api' })).payload.sub, account.id);
      const r2 = await client.refreshTokenGrant(config, r1.refresh_token);
      assert.ok(r2.refresh_token && r2.refresh_token !== r1.refresh_token);
      assert.equal((await jose.jwtVerify(r2.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api' })).payload.sub, account.id);
      const live = await introspect(r2.refresh_token);
      assert.equal(live.active, true);
      assert.equal(live.sub, account.id);
      assert.equal(live.client_id, clientId);

      // 7. revoke (RFC 7009): refused from then on, and introspected as inactive.
      await client.tokenRevocation(config, r2.refresh_token, { token_type_hint: 'refresh_token' });
      await assert.rejects(client.refreshTokenGrant(config, r2.refresh_token), (err: client.ResponseBodyError) => {
        assert.equal(err.error, 'invalid_grant');
        return true;
      });
      const raw2 = await refresh(h, clientId, r2.refresh_token);
      assert.equal(raw2.status, 400);
      assert.equal(raw2.body.error, 'invalid_grant');
      assert.deepEqual(await introspect(r2.refresh_token), { active: false });
    });
  });
}
