/**
 * R-OAUTH-5 / R-OAUTH-6: introspection (authenticated callers only), revocation, userinfo,
 * discovery documents, and the signing keys — sealed at rest, published with the previous
 * ones, rotated without breaking live tokens.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as jose from 'jose';
import * as client from 'openid-client';
import { open } from '../../../src/crypto/envelope.js';
import { masterKeyFrom } from '../../../src/crypto/master-key.js';
import { oauthService } from '../../../src/oauth/oauth-service.js';
import { PREVIOUS_KEY_RETENTION_MS, rotateSigningKeys } from '../../../src/oauth/signing-keys.js';
import { testEngines } from '../../support/databases.js';
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
  startHarness,
  TOKEN_EXCHANGE,
  type Harness,
} from './oauth-harness.js';

for (const engine of testEngines()) {
  describe(`OAuth endpoints and signing keys [${engine.name}]`, () => {
    let h: Harness;
    let accountId: string;
    let nativeId: string;
    let rs: { clientId: string; clientSecret: string };

    before(async () => {
      h = await startHarness(engine);
      accountId = await createAccount(h, { email: 'jane@acme.com' });
      ({ clientId: nativeId } = await registerClient(h, NATIVE_CLIENT));
      const created = await registerClient(h, { name: 'API gateway', type: 'confidential', grantTypes: [TOKEN_EXCHANGE], scopes: ['openid'] });
      rs = { clientId: created.clientId, clientSecret: created.clientSecret! };
    });
    after(() => h.close());

    async function tokens(extra: Record<string, string> = {}) {
      const { cookie } = await createSamlSession(h, accountId);
      const r = await exchangeCookie(h, nativeId, cookie, extra);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { access_token: string; refresh_token: string };
    }

    async function publishedKeys(): Promise<jose.JSONWebKeySet> {
      return (await (await fetch(`${h.base}/.well-known/jwks.json`)).json()) as jose.JSONWebKeySet;
    }

    describe('introspection (RFC 7662)', () => {
      it('tells a resource server about live, rotated and revoked refresh tokens', async () => {
        const t = await tokens();
        const live = await postForm(h, '/oauth/introspect', { token: t.refresh_token }, rs);
        assert.equal(live.status, 200);
        assert.equal(live.body.active, true);
        assert.equal(live.body.sub, accountId);
        assert.equal(live.body.client_id, nativeId);
        assert.equal(live.body.iss, ISSUER);

        const rotated = await refresh(h, nativeId, t.refresh_token);
        assert.equal(rotated.status, 200);
        assert.deepEqual((await postForm(h, '/oauth/introspect', { token: t.refresh_token }, rs)).body, { active: false });

        const next = rotated.body.refresh_token as string;
        assert.equal((await postForm(h, '/oauth/revoke', { token: next, client_id: nativeId })).status, 200);
        assert.deepEqual((await postForm(h, '/oauth/introspect', { token: next }, rs)).body, { active: false });
        assert.deepEqual((await postForm(h, '/oauth/introspect', { token: 'not-a-token' }, rs)).body, { active: false });
      });

      it('works through openid-client with client_secret_basic', async () => {
        const t = await tokens();
        const cc = await oidcClient(h, rs.clientId, rs.clientSecret);
        const result = await client.tokenIntrospection(cc, t.refresh_token);
        assert.equal(result.active, true);
      });

      it('refuses public clients and wrong secrets with 401 invalid_client, whatever the token', async () => {
        const t = await tokens();
        for (const token of [t.refresh_token, 'garbage']) {
          const pub = await postForm(h, '/oauth/introspect', { token, client_id: nativeId });
          assert.equal(pub.status, 401, token);
          assert.equal(pub.body.error, 'invalid_client');
          assert.equal(pub.body.active, undefined);
        }
        const wrong = await postForm(h, '/oauth/introspect', { token: t.refresh_token }, { clientId: rs.clientId, clientSecret: `${rs.clientSecret}x` });
        assert.equal(wrong.status, 401);
        assert.equal(wrong.body.error, 'invalid_client');
        const none = await postForm(h, '/oauth/introspect', { token: t.refresh_token });
        assert.equal(none.status, 400);
        assert.equal(none.body.error, 'invalid_request');
      });

      it('answers unsupported_token_type for JWT access tokens (validated by resource servers themselves)', async () => {
        const t = await tokens();
        const r = await postForm(h, '/oauth/introspect', { token: t.access_token }, rs);
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'unsupported_token_type');
      });
    });

    describe('revocation (RFC 7009)', () => {
      it("ignores another client's token: 200, and the token keeps working", async () => {
        const t = await tokens();
        const { clientId: other } = await registerClient(h, { ...NATIVE_CLIENT, name: 'Other' });
        const r = await postForm(h, '/oauth/revoke', { token: t.refresh_token, client_id: other });
        assert.equal(r.status, 200);
        assert.equal((await refresh(h, nativeId, t.refresh_token)).status, 200);
      });
    });

    describe('userinfo', () => {
      it('answers for an opaque token asked with openid scopes, and refuses RFC 9068 JWTs', async () => {
        const t = await tokens({ scope: 'openid email profile offline_access' });
        const jwtAttempt = await fetch(`${h.base}/oauth/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
        assert.equal(jwtAttempt.status, 401);
        assert.match(jwtAttempt.headers.get('www-authenticate') ?? '', /invalid_token/);

        const r = await refresh(h, nativeId, t.refresh_token, { scope: 'openid email profile' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.access_token.split('.').length, 1, 'an opaque token');
        const config = await oidcClient(h, nativeId);
        const info = await client.fetchUserInfo(config, r.body.access_token, accountId);
        assert.equal(info.sub, accountId);
        assert.equal(info.email, 'jane@acme.com');
        assert.equal(info.org, 'acme.com');
        assert.equal(info.family_name, 'Doe');

        // Without explicit openid scopes a refresh keeps yielding JWTs for the resource server.
        const jwt = await refresh(h, nativeId, r.body.refresh_token as string);
        assert.equal(jwt.body.access_token.split('.').length, 3);
      });
    });

    describe('discovery', () => {
      it('serves OpenID and RFC 8414 metadata with our routes, from the public URL whatever the Host header', async () => {
        const oidc = await (await fetch(`${h.base}/.well-known/openid-configuration`, { headers: { host: 'evil.example' } })).json();
        const oauth = await (await fetch(`${h.base}/.well-known/oauth-authorization-server`, { headers: { 'x-forwarded-host': 'evil.example' } })).json();
        for (const doc of [oidc, oauth]) {
          assert.equal(doc.issuer, ISSUER);
          assert.equal(doc.authorization_endpoint, `${ISSUER}/oauth/authorize`);
          assert.equal(doc.token_endpoint, `${ISSUER}/oauth/token`);
          assert.equal(doc.revocation_endpoint, `${ISSUER}/oauth/revoke`);
          assert.equal(doc.introspection_endpoint, `${ISSUER}/oauth/introspect`);
          assert.equal(doc.userinfo_endpoint, `${ISSUER}/oauth/userinfo`);
          assert.equal(doc.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
          assert.deepEqual(doc.response_types_supported, ['code']);
          assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
          assert.equal(doc.registration_endpoint, undefined);
          assert.ok(doc.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:saml2-bearer'));
          assert.ok(doc.grant_types_supported.includes(TOKEN_EXCHANGE));
        }
      });
    });

    describe('signing keys', () => {
      it('keeps private keys sealed under the master key', async () => {
        await tokens();
        const rows = await h.t.ctx.database.db.selectFrom('oauth_signing_keys').selectAll().execute();
        assert.ok(rows.length >= 1);
        for (const row of rows) {
          assert.match(row.private_jwk_sealed, /^fbenc1:/);
          const jwk = JSON.parse(open(h.t.ctx.masterKey, row.private_jwk_sealed, `oauth-signing-key:${row.kid}`).toString('utf8'));
          assert.ok(jwk.d, 'a private key inside');
          assert.ok(!JSON.stringify(row).includes(jwk.d), 'never in clear');
          assert.equal(JSON.parse(row.public_jwk).d, undefined);
          assert.throws(() => open(masterKeyFrom(crypto.randomBytes(32), 'environment'), row.private_jwk_sealed, `oauth-signing-key:${row.kid}`));
          // Bound to its kid: copied onto another row it does not open.
          assert.throws(() => open(h.t.ctx.masterKey, row.private_jwk_sealed, 'oauth-signing-key:other'));
        }
        for (const key of (await publishedKeys()).keys) assert.equal((key as { d?: string }).d, undefined);
      });

      it('rotates without breaking live tokens; the previous key stays published for a day', async () => {
        const before = await tokens();
        const oldKid = jose.decodeProtectedHeader(before.access_token).kid;
        const auditBefore = await h.t.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'oauth.signingKey.rotate').execute();

        const rotation = await oauthService(h.t.ctx).rotateKeys('test');
        assert.notEqual(rotation.current.kid, oldKid);
        const audit = await h.t.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'oauth.signingKey.rotate').execute();
        assert.equal(audit.length, auditBefore.length + 1);

        const keys = await publishedKeys();
        assert.deepEqual(keys.keys.map((k) => k.kid), [rotation.current.kid, oldKid]);
        const jwks = jose.createLocalJWKSet(keys);
        // A token signed before the rotation still verifies…
        await jose.jwtVerify(before.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt' });
        // …new ones are signed with the new key, ID tokens included.
        const after = await refresh(h, nativeId, before.refresh_token, {});
        assert.equal(jose.decodeProtectedHeader(after.body.access_token).kid, rotation.current.kid);
        await jose.jwtVerify(after.body.access_token, jwks, { issuer: ISSUER, audience: 'urn:fedbridge:api' });
        assert.equal(jose.decodeProtectedHeader(after.body.id_token).kid, rotation.current.kid);

        // Past the retention, the next rotation drops the oldest key.
        h.t.clock.advance(PREVIOUS_KEY_RETENTION_MS + 1000);
        const second = await oauthService(h.t.ctx).rotateKeys('test');
        assert.ok(second.deleted.includes(oldKid!));
        assert.deepEqual((await publishedKeys()).keys.map((k) => k.kid), [second.current.kid, rotation.current.kid]);
      });

      it('picks up a rotation made elsewhere (another instance, the CLI) and can switch to RS256', async () => {
        const service = oauthService(h.t.ctx);
        service.keyCheckIntervalMs = 0;
        try {
          const rotation = await rotateSigningKeys(h.t.ctx, 'cli', 'RS256');
          const t = await tokens();
          const header = jose.decodeProtectedHeader(t.access_token);
          assert.equal(header.kid, rotation.current.kid);
          assert.equal(header.alg, 'RS256');
          await jose.jwtVerify(t.access_token, jose.createLocalJWKSet(await publishedKeys()), { issuer: ISSUER, audience: 'urn:fedbridge:api' });
        } finally {
          service.keyCheckIntervalMs = 10_000;
        }
      });
    });
  });
}
