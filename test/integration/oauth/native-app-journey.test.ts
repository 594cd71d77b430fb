/**
 * The native-app journey with a real OAuth client library (openid-client 6): authorization
 * code with PKCE through the SAML sign-in (home-realm discovery by login_hint), tokens, two
 * refreshes, revocation — and the JWT access token verified with jose against our JWKS.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as client from 'openid-client';
import { revokeTokensForSessions } from '../../../src/oauth/token-revocation.js';
import { destroySessionsOfAccount } from '../../../src/store/oauth-artifacts.js';
import { testEngines } from '../../support/databases.js';
import {
  Browser,
  completeSso,
  createAccount,
  ISSUER,
  NATIVE_CLIENT,
  oidcClient,
  postForm,
  registerClient,
  startHarness,
  type Harness,
} from './oauth-harness.js';

for (const engine of testEngines()) {
  describe(`OAuth native-app journey with openid-client [${engine.name}]`, () => {
    let h: Harness;
    let accountId: string;
    let clientId: string;
    let config: client.Configuration;
    let jwks: ReturnType<typeof jose.createLocalJWKSet>;

    before(async () => {
      h = await startHarness(engine);
      accountId = await createAccount(h, { email: 'jane@acme.com', firstname: 'Jane', lastname: 'Doe' });
      ({ clientId } = await registerClient(h, NATIVE_CLIENT));
      config = await oidcClient(h, clientId);
      const keys = await (await h.fetch(`${ISSUER}/.well-known/jwks.json`, {} as never)).json();
      jwks = jose.createLocalJWKSet(keys as jose.JSONWebKeySet);
    });
    after(() => h.close());

    /** Runs the browser part up to the callback URL and returns it. */
    async function authorize(params: Record<string, string>, browser = new Browser(h)): Promise<{ callback: URL; verifier: string; state: string; ssoUrl?: string }> {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: 'http://127.0.0.1:53123/callback',
        scope: 'openid email profile offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        ...params,
      });
      let step = await browser.follow(url.href);
      if (step.status === 200 && step.body.includes('name="csrf"')) {
        // The home-realm page: the user types their e-mail.
        const action = /action="([^"]+)"/.exec(step.body)![1]!;
        const csrf = /name="csrf" value="([^"]+)"/.exec(step.body)![1]!;
        step = await browser.follow(action, { csrf, email: 'jane@acme.com', action: 'continue' });
      }
      let ssoUrl: string | undefined;
      if (step.location && new URL(step.location).pathname.startsWith('/sso/')) {
        ssoUrl = step.location;
        const { target } = await completeSso(h, browser, step.location, accountId);
        step = await browser.follow(target);
      }
      assert.ok(step.location, `expected a redirect to the client, got ${step.status}: ${step.body.slice(0, 300)}`);
      return { callback: new URL(step.location), verifier, state, ...(ssoUrl && { ssoUrl }) };
    }

    it('signs in through the org SSO, exchanges the code, refreshes twice and revokes', async () => {
      const { callback, verifier, state, ssoUrl } = await authorize({ login_hint: 'jane@acme.com' });
      // Home-realm discovery: the login_hint domain chose acme.com's SSO, with a way back.
      assert.ok(ssoUrl);
      const sso = new URL(ssoUrl);
      assert.equal(sso.pathname, '/sso/acme.com/login');
      assert.match(sso.searchParams.get('target')!, /^\/oauth\/interaction\/[A-Za-z0-9_-]+\?sso=none$/);
      // Loopback redirect on a port that was never registered (RFC 8252 §7.3).
      assert.equal(callback.origin, 'http://127.0.0.1:53123');
      assert.equal(callback.searchParams.get('iss'), ISSUER);

      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.refresh_token, 'a refresh token');
      assert.ok(tokens.expires_in! <= 3600);
      const idClaims = tokens.claims()!;
      assert.equal(idClaims.sub, accountId);
      assert.equal(idClaims.email, 'jane@acme.com');
      assert.equal(idClaims.org, 'acme.com');
      assert.equal(idClaims.given_name, 'Jane');

      // RFC 9068 access token, verified against our published keys.
      const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
        issuer: ISSUER,
        audience: 'urn:fedbridge:api',
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.sub, accountId);
      assert.equal(payload.client_id, clientId);
      assert.equal(payload.org, 'acme.com');
      assert.equal(payload.email, 'jane@acme.com');
      assert.ok(typeof payload.jti === 'string' && payload.jti.length > 0);
      assert.ok(payload.exp! - payload.iat! <= 3600);
      assert.deepEqual(String(payload.scope).split(' ').sort(), ['email', 'openid', 'profile']);
      // A resource server refuses it tampered with, or once expired.
      const [head, body, sig] = tokens.access_token.split('.');
      const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url');
      await assert.rejects(jose.jwtVerify(`${head}.${forged}.${sig}`, jwks), (e: Error) => e.name === 'JWSSignatureVerificationFailed');
      await assert.rejects(jose.jwtVerify(tokens.access_token, jwks, { currentDate: new Date((payload.exp! + 1) * 1000) }), (e: Error) => e.name === 'JWTExpired');
      assert.ok(body);

      // Refresh twice: each answer rotates the refresh token.
      const r1 = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(r1.refresh_token && r1.refresh_token !== tokens.refresh_token);
      await jose.jwtVerify(r1.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt' });
      const r2 = await client.refreshTokenGrant(config, r1.refresh_token);
      assert.ok(r2.refresh_token && r2.refresh_token !== r1.refresh_token);
      assert.equal(r2.claims()?.sub, accountId);

      // Revoke (RFC 7009): the family is gone.
      await client.tokenRevocation(config, r2.refresh_token);
      await assert.rejects(client.refreshTokenGrant(config, r2.refresh_token), (err: client.ResponseBodyError) => {
        assert.equal(err.error, 'invalid_grant');
        return true;
      });
    });

    it('discovers through RFC 8414 metadata as well', async () => {
      const oauthConfig = await oidcClient(h, clientId, undefined, 'oauth2');
      const meta = oauthConfig.serverMetadata();
      assert.equal(meta.issuer, ISSUER);
      assert.equal(meta.token_endpoint, `${ISSUER}/oauth/token`);
      assert.equal(meta.revocation_endpoint, `${ISSUER}/oauth/revoke`);
      assert.equal(meta.introspection_endpoint, `${ISSUER}/oauth/introspect`);
      assert.equal(meta.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    });

    it('reuses a live SAML session without a second SSO round trip', async () => {
      const browser = new Browser(h);
      const first = await authorize({ login_hint: 'jane@acme.com' }, browser);
      assert.ok(first.ssoUrl);
      const second = await authorize({}, browser);
      assert.equal(second.ssoUrl, undefined, 'no SSO the second time');
      const tokens = await client.authorizationCodeGrant(config, second.callback, { pkceCodeVerifier: second.verifier, expectedState: second.state });
      assert.equal(tokens.claims()?.sub, accountId);
    });

    it('sends a browser whose SAML session ended back through SSO', async () => {
      const browser = new Browser(h);
      await authorize({ login_hint: 'jane@acme.com' }, browser);
      browser.setCookie('fedbridge_session', 'A'.repeat(43));
      const again = await authorize({ org: 'acme.com' }, browser);
      assert.ok(again.ssoUrl, 'the OAuth session alone does not sign the user in');
    });

    it('grants offline_access explicitly when asked with prompt=consent', async () => {
      const { callback, verifier, state } = await authorize({ login_hint: 'jane@acme.com', prompt: 'consent' });
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.ok(tokens.refresh_token);
      const intro = await postForm(h, '/oauth/introspect', { token: tokens.refresh_token }, await confidential());
      assert.equal(intro.body.active, true);
      assert.ok(String(intro.body.scope).split(' ').includes('offline_access'), `scope ${intro.body.scope}`);

      // Without prompt=consent oidc-provider drops offline_access; a first-party client allowed
      // the refresh_token grant still gets its refresh token (the operator registered it so).
      const plain = await authorize({ login_hint: 'jane@acme.com' });
      const t2 = await client.authorizationCodeGrant(config, plain.callback, { pkceCodeVerifier: plain.verifier, expectedState: plain.state });
      assert.ok(t2.refresh_token);
      const intro2 = await postForm(h, '/oauth/introspect', { token: t2.refresh_token }, await confidential());
      assert.equal(intro2.body.active, true);
      assert.ok(!String(intro2.body.scope).split(' ').includes('offline_access'), `scope ${intro2.body.scope}`);
    });

    it('refuses an authorization request without PKCE, with plain PKCE, or with an unregistered redirect URI', async () => {
      const browser = new Browser(h);
      const base = { client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:1/callback', state: 's' };
      const noPkce = await browser.visit(`/oauth/authorize?${new URLSearchParams(base)}`);
      assert.equal(noPkce.status, 303);
      const err1 = new URL(noPkce.location!);
      assert.equal(err1.searchParams.get('error'), 'invalid_request');
      assert.match(err1.searchParams.get('error_description')!, /PKCE/);

      const plain = await browser.visit(`/oauth/authorize?${new URLSearchParams({ ...base, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' })}`);
      assert.equal(new URL(plain.location!).searchParams.get('error'), 'invalid_request');

      for (const redirect of ['http://127.0.0.1:1/other', 'http://localhost:1/callback', 'https://evil.example/callback']) {
        const bad = await browser.visit(
          `/oauth/authorize?${new URLSearchParams({ ...base, redirect_uri: redirect, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
        );
        assert.equal(bad.status, 400, `${redirect} must not be redirected to`);
        assert.equal(bad.location, undefined);
      }
    });

    it('binds the code to the PKCE verifier and uses it once', async () => {
      const { callback, verifier, state } = await authorize({});
      await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state }),
        (err: client.ResponseBodyError) => err.error === 'invalid_grant',
      );
      // A failed attempt does not consume the code…
      await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      // …a successful one does.
      await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
        (err: client.ResponseBodyError) => err.error === 'invalid_grant',
      );
    });

    it('binds the code to its client, redirect URI and sign-in session', async () => {
      const { clientId: other } = await registerClient(h, { ...NATIVE_CLIENT, name: 'Other' });
      const exchange = (code: string, verifier: string, extra: Record<string, string> = {}) =>
        postForm(h, '/oauth/token', { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: 'http://127.0.0.1:53123/callback', ...extra });

      const a = await authorize({});
      const codeA = a.callback.searchParams.get('code')!;
      for (const extra of [{ client_id: other }, { redirect_uri: 'http://127.0.0.1:53124/callback' }, { redirect_uri: 'http://127.0.0.1:53123/other' }] as Record<string, string>[]) {
        const r = await exchange(codeA, a.verifier, extra);
        assert.equal(r.status, 400, JSON.stringify(extra));
        assert.equal(r.body.error, 'invalid_grant');
      }
      assert.equal((await exchange(codeA, a.verifier)).status, 200, 'the refusals did not use the code up');

      // The code is bound to the OAuth session it was issued in: when that session ends, so does the code.
      const b = await authorize({});
      await destroySessionsOfAccount(h.t.ctx.database.db, accountId);
      const orphan = await exchange(b.callback.searchParams.get('code')!, b.verifier);
      assert.equal(orphan.status, 400);
      assert.equal(orphan.body.error, 'invalid_grant');

      // Signing out of the SAML session revokes its grants, outstanding codes included.
      const c = await authorize({});
      const sessions = await h.t.ctx.database.db.selectFrom('saml_sessions').select('id_hash').where('account_id', '=', accountId).execute();
      await revokeTokensForSessions(h.t.ctx.database.db, sessions.map((s) => s.id_hash));
      const late = await exchange(c.callback.searchParams.get('code')!, c.verifier);
      assert.equal(late.status, 400);
      assert.equal(late.body.error, 'invalid_grant');
    });

    it('refuses an expired code (60 s)', async () => {
      const { callback, verifier, state } = await authorize({});
      h.t.clock.advance(61_000);
      await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
        (err: client.ResponseBodyError) => err.error === 'invalid_grant',
      );
    });

    let rs: { clientId: string; clientSecret: string } | undefined;
    async function confidential() {
      if (!rs) {
        const created = await registerClient(h, {
          name: 'API gateway',
          type: 'confidential',
          redirectUris: [],
          grantTypes: [TOKEN_EXCHANGE_FOR_RS],
          scopes: ['openid'],
        });
        rs = { clientId: created.clientId, clientSecret: created.clientSecret! };
      }
      return rs;
    }
  });
}

const TOKEN_EXCHANGE_FOR_RS = 'urn:ietf:params:oauth:grant-type:token-exchange';
