/**
 * The whole client flow of guide 003 with nothing simulated: openid-client starts an
 * authorization with PKCE, the bridge sends the browser to the org's SSO, the test IdP answers
 * the real AuthnRequest, the ACS creates the session and its cookie, the login interaction
 * finishes with that account, the code becomes tokens, and signing out (POST /logout) revokes
 * the refresh token — "deleted on sign-out".
 */
import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import * as jose from 'jose';
import * as client from 'openid-client';
import { testEngines } from '../../support/databases.js';
import { startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';
import { Browser, ISSUER, listen, NATIVE_CLIENT, oidcClient, refresh, registerClient, type Harness } from './oauth-harness.js';

for (const engine of testEngines()) {
  describe(`OAuth through a real SAML sign-in [${engine.name}]`, () => {
    let s: SamlScenario;
    let h: Harness;

    before(async () => {
      s = await startSamlScenario({ engine });
      h = await listen(s.t, { id: s.orgId, slug: s.slug }, { closeApp: false });
    });
    after(async () => {
      await h.close();
      await s.close();
    });

    it('authorization code with PKCE through SP-initiated SSO, then refresh, then sign-out revokes', async () => {
      const { clientId } = await registerClient(h, NATIVE_CLIENT);
      const config = await oidcClient(h, clientId);
      const browser = new Browser(h);
      const verifier = client.randomPKCECodeVerifier();
      const user = s.user('alice');
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: 'http://127.0.0.1:7001/callback',
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'xyz',
        login_hint: user.nameId,
      });

      // Home-realm discovery by the login_hint domain, then the org's SSO login route…
      const toSso = await browser.follow(url.href);
      assert.equal(new URL(toSso.location!).pathname, `/sso/${s.slug}/login`);
      // …which sends an AuthnRequest to the IdP.
      const toIdp = await browser.visit(toSso.location!);
      const idpUrl = new URL(toIdp.location!);
      assert.equal(idpUrl.origin, 'https://idp.test.example');
      const authnRequest = inflateRawSync(Buffer.from(idpUrl.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      const requestId = /\sID="([^"]+)"/.exec(authnRequest)![1]!;

      // The IdP answers; the browser posts the Response to the ACS and comes back to the interaction.
      const response = await s.buildResponse({ inResponseTo: requestId, nameId: user.nameId, attributes: user.attributes });
      const back = await browser.follow(`/sso/${s.slug}/saml/acs`, {
        SAMLResponse: response.base64,
        ...(idpUrl.searchParams.get('RelayState') && { RelayState: idpUrl.searchParams.get('RelayState')! }),
      });
      const callback = new URL(back.location!);
      assert.equal(callback.origin + callback.pathname, 'http://127.0.0.1:7001/callback', `${back.status} ${back.body.slice(0, 300)}`);
      assert.ok(browser.cookies.some((c) => c.name === 'fedbridge_session'), 'the ACS set the SAML session cookie');

      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'xyz' });
      const account = await s.t.ctx.database.db.selectFrom('accounts').selectAll().where('email_norm', '=', user.nameId).executeTakeFirstOrThrow();
      assert.equal(tokens.claims()?.sub, account.id, 'the token is for the account the ACS provisioned');
      assert.equal(tokens.claims()?.email, user.nameId);
      const jwks = jose.createLocalJWKSet((await (await fetch(`${h.base}/.well-known/jwks.json`)).json()) as jose.JSONWebKeySet);
      const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt' });
      assert.equal(payload.org, s.slug);

      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(refreshed.refresh_token);

      // Sign-out: the SAML session ends and the refresh tokens made from it are deleted with it.
      const out = await browser.visit('/logout', {});
      assert.ok([200, 302].includes(out.status), `logout answered ${out.status}`);
      const after = await refresh(h, clientId, refreshed.refresh_token!);
      assert.equal(after.status, 400);
      assert.equal(after.body.error, 'invalid_grant');
    });
  });
}
