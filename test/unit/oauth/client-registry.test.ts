import assert from 'node:assert/strict';
import { clientMetadataFor, redirectUriProblem } from '../../../src/oauth/client-registry.js';
import { grantedScopes } from '../../../src/oauth/grant-tokens.js';
import { DEFAULT_RESOURCE, resourceScopesFor, resourceServerInfo } from '../../../src/oauth/resource-server.js';

describe('oauth/client-registry', () => {
  it('accepts the redirect URIs RFC 8252 allows native apps, and only those', () => {
    for (const ok of ['http://127.0.0.1/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]/cb', 'com.example.app:/oauth', 'com.example.app:///cb', 'https://app.example.com/cb']) {
      assert.equal(redirectUriProblem(ok, 'public'), undefined, ok);
    }
    for (const bad of [
      'http://localhost/cb', // §8.3: loopback IP literals, not names
      'http://example.com/cb',
      'https://127.0.0.1/cb',
      'myapp:/cb', // §7.1: reverse domain names
      'javascript:alert(1)',
      'data:text/html,x',
      'file:///etc/passwd',
      'http://127.0.0.1/cb#x',
      'http://user:pw@127.0.0.1/cb',
      'http://127.0.0.1/c b',
      'http://127.0.0.1\\@evil.com/',
      'not a uri',
      `http://127.0.0.1/${'a'.repeat(2100)}`,
    ]) {
      assert.ok(redirectUriProblem(bad, 'public'), bad);
    }
  });

  it('wants https for confidential clients, http only on loopback', () => {
    assert.equal(redirectUriProblem('https://portal.example.com/cb', 'confidential'), undefined);
    assert.equal(redirectUriProblem('http://localhost:3000/cb', 'confidential'), undefined);
    assert.ok(redirectUriProblem('http://portal.example.com/cb', 'confidential'));
    assert.ok(redirectUriProblem('com.example.app:/cb', 'confidential'));
  });

  it('maps clients onto oidc-provider metadata: public = native without auth, confidential = web with the secret hash', () => {
    const base = { id: 'fbc_1', name: 'N', redirectUris: ['http://127.0.0.1/cb'], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['openid', 'email'], createdBy: 'cli', createdAt: 0 };
    const pub = clientMetadataFor({ ...base, type: 'public', secretHash: null }, 'ES256');
    assert.equal(pub.application_type, 'native');
    assert.equal(pub.token_endpoint_auth_method, 'none');
    assert.equal(pub.client_secret, undefined);
    assert.deepEqual(pub.response_types, ['code']);
    assert.equal(pub.scope, 'openid email');
    assert.equal(pub.id_token_signed_response_alg, 'ES256');
    const conf = clientMetadataFor({ ...base, type: 'confidential', secretHash: 'ab'.repeat(32), grantTypes: ['urn:ietf:params:oauth:grant-type:saml2-bearer'], redirectUris: [] }, 'RS256');
    assert.equal(conf.application_type, 'web');
    assert.equal(conf.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(conf.client_secret, 'ab'.repeat(32));
    assert.deepEqual(conf.response_types, []);
  });
});

describe('oauth/resource-server and scopes', () => {
  it('gives the API every registered scope but offline_access', () => {
    assert.equal(resourceScopesFor('openid email offline_access calendar'), 'openid email calendar');
    assert.equal(resourceScopesFor(undefined), '');
    const info = resourceServerInfo('openid offline_access', { alg: 'ES256', kid: 'k1' });
    assert.deepEqual(info, {
      scope: 'openid',
      audience: DEFAULT_RESOURCE,
      accessTokenTTL: 3600,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'ES256', kid: 'k1' } },
    });
  });

  it('grants the requested scopes only when the client is registered for them', () => {
    assert.deepEqual(grantedScopes(undefined, 'openid email'), ['openid', 'email']);
    assert.deepEqual(grantedScopes('email email', 'openid email'), ['email']);
    assert.throws(() => grantedScopes('openid admin', 'openid email'), (err: { error?: string; scope?: string }) => err.error === 'invalid_scope' && err.scope === 'admin');
  });
});
