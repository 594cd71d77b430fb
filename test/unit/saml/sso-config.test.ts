import assert from 'node:assert/strict';
import {
  changedSsoFields,
  DEFAULT_WSFED_REALM,
  effectiveSsoConfig,
  isLoopbackHost,
  SSO_CONFIG_FIELDS,
  ssoConfigSchema,
  urlProblem,
} from '../../../src/saml/sso-config.js';

const PUBLIC_URL = 'https://sp.fedbridge.test';
const schema = ssoConfigSchema({ publicUrl: PUBLIC_URL });

/** A SAML 2.0 configuration that works: SP- and IdP-initiated. */
const VALID = {
  protocol: 'saml2',
  spInitiated: true,
  idpInitiated: true,
  idpInitiatedTargetParam: 'TARGET',
  idpEntityId: 'https://idp.example.com/saml',
  ssoLoginUrl: 'https://idp.example.com/sso?app=1',
};

function fieldsAtFault(input: unknown): string[] {
  const r = schema.safeParse(input);
  assert.equal(r.success, false, `expected refusal of ${JSON.stringify(input)}`);
  return r.error!.issues.map((i) => i.path.map(String).join('.'));
}

describe('SSO configuration schema (R-SAML-1)', () => {
  it('lists exactly the Appendix A fields', () => {
    assert.deepEqual(SSO_CONFIG_FIELDS, [
      'protocol', 'spInitiated', 'idpInitiated', 'idpInitiatedTargetParam', 'authnRequestSigned',
      'authnRequestDestination', 'spEntityId', 'idpEntityId', 'ssoLoginUrl', 'ssoLoginBinding', 'nameIdFormat',
      'authnContextClassRef', 'defaultTargetUrl', 'errorUrl', 'singleLogout', 'logoutUrl', 'autoAccountCreation',
      'autoAccountUpdate', 'removeUidDomainSuffix', 'clockSkewSeconds', 'allowSha1', 'trustAllCertificates',
      'maxSessionSeconds', 'refreshTokenTtlSeconds', 'wsfedRealm', 'federationServiceUri', 'attributeMap',
    ]);
  });

  it('gives the documented defaults to an org never configured', () => {
    const c = effectiveSsoConfig(undefined, { publicUrl: PUBLIC_URL });
    assert.equal(c.protocol, 'saml2');
    assert.equal(c.spEntityId, PUBLIC_URL);
    assert.equal(c.nameIdFormat, 'unspecified');
    assert.equal(c.ssoLoginBinding, 'redirect');
    assert.equal(c.clockSkewSeconds, 180);
    assert.equal(c.allowSha1, false);
    assert.equal(c.trustAllCertificates, false);
    assert.equal(c.maxSessionSeconds, 12 * 3600);
    assert.equal(c.refreshTokenTtlSeconds, 60 * 24 * 3600);
    assert.equal(c.wsfedRealm, 'urn:federation:webex');
    assert.equal(c.idpEntityId, null);
    assert.deepEqual(c.attributeMap, {});
    // The defaults alone cannot sign anybody in: the full schema refuses them.
    assert.deepEqual(fieldsAtFault({}).sort(), ['idpEntityId', 'ssoLoginUrl']);
  });

  it('completes a stored configuration with defaults and ignores fields it no longer knows', () => {
    const c = effectiveSsoConfig({ idpEntityId: 'urn:idp', spEntityId: 'urn:sp', retiredField: 1 }, { publicUrl: PUBLIC_URL });
    assert.equal(c.idpEntityId, 'urn:idp');
    assert.equal(c.spEntityId, 'urn:sp');
    assert.equal(c.clockSkewSeconds, 180);
    assert.equal('retiredField' in c, false);
    assert.throws(() => effectiveSsoConfig({ clockSkewSeconds: 'x' }, { publicUrl: PUBLIC_URL }), /clockSkewSeconds/);
  });

  it('accepts a working configuration and normalizes it', () => {
    const c = schema.parse({
      ...VALID,
      spEntityId: '',
      errorUrl: '  ',
      authnContextClassRef: ' urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport ',
      logoutUrl: 'http://localhost:8080/idp/logout',
      attributeMap: { ' mail ': 'EMAIL', 'urn:oid:2.5.4.42': 'firstName', country: 'isocountry' },
    });
    assert.equal(c.spEntityId, PUBLIC_URL, 'empty SP entity id means the public base URL');
    assert.equal(c.errorUrl, null, 'blank means unset');
    assert.equal(c.authnContextClassRef, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
    assert.equal(c.logoutUrl, 'http://localhost:8080/idp/logout', 'http is fine for loopback IdPs');
    assert.deepEqual(c.attributeMap, { mail: 'email', 'urn:oid:2.5.4.42': 'firstname', country: 'ISOCountry' });
    assert.equal(schema.parse({ ...VALID, wsfedRealm: '' }).wsfedRealm, DEFAULT_WSFED_REALM);
  });

  it('accepts a working WS-Federation configuration without SAML fields', () => {
    const c = schema.parse({
      protocol: 'wsfed',
      federationServiceUri: 'http://adfs.example.com/adfs/services/trust',
      ssoLoginUrl: 'https://adfs.example.com/adfs/ls/',
    });
    assert.equal(c.idpEntityId, null);
  });

  it('accepts both profiles switched off (sign-in disabled)', () => {
    assert.equal(schema.parse({ spInitiated: false, idpInitiated: false }).spInitiated, false);
  });

  const INVALID: Array<[string, Record<string, unknown>, string]> = [
    ['unknown protocol', { protocol: 'saml1' }, 'protocol'],
    ['non-boolean flag', { spInitiated: 'yes' }, 'spInitiated'],
    ['SP-initiated without IdP entity id', { ...VALID, idpEntityId: null }, 'idpEntityId'],
    ['SP-initiated without login URL', { ...VALID, ssoLoginUrl: '' }, 'ssoLoginUrl'],
    ['IdP-initiated only, without IdP entity id', { spInitiated: false, idpInitiated: true }, 'idpEntityId'],
    ['target parameter that is not a token', { ...VALID, idpInitiatedTargetParam: 'a b' }, 'idpInitiatedTargetParam'],
    ['target parameter with URL syntax', { ...VALID, idpInitiatedTargetParam: 'x&y=1' }, 'idpInitiatedTargetParam'],
    ['signed AuthnRequest without destination', { ...VALID, authnRequestSigned: true }, 'authnRequestDestination'],
    ['destination over http', { ...VALID, authnRequestDestination: 'http://idp.example.com/sso' }, 'authnRequestDestination'],
    ['login URL over http on a public host', { ...VALID, ssoLoginUrl: 'http://idp.example.com/sso' }, 'ssoLoginUrl'],
    ['login URL that is relative', { ...VALID, ssoLoginUrl: '/sso' }, 'ssoLoginUrl'],
    ['login URL with another scheme', { ...VALID, ssoLoginUrl: 'javascript:alert(1)' }, 'ssoLoginUrl'],
    ['login URL with credentials', { ...VALID, ssoLoginUrl: 'https://user:pw@idp.example.com/sso' }, 'ssoLoginUrl'],
    ['login URL with an empty user part', { ...VALID, ssoLoginUrl: 'https://@idp.example.com/sso' }, 'ssoLoginUrl'],
    ['login URL with a fragment', { ...VALID, ssoLoginUrl: 'https://idp.example.com/sso#x' }, 'ssoLoginUrl'],
    ['login URL with a space', { ...VALID, ssoLoginUrl: 'https://idp.example.com/s so' }, 'ssoLoginUrl'],
    ['login URL too long', { ...VALID, ssoLoginUrl: `https://idp.example.com/${'a'.repeat(2100)}` }, 'ssoLoginUrl'],
    ['http lookalike of localhost', { ...VALID, ssoLoginUrl: 'http://localhost.evil.com/sso' }, 'ssoLoginUrl'],
    ['unknown binding', { ...VALID, ssoLoginBinding: 'artifact' }, 'ssoLoginBinding'],
    ['unknown NameID format', { ...VALID, nameIdFormat: 'transient' }, 'nameIdFormat'],
    ['IdP entity id that is not a URI', { ...VALID, idpEntityId: 'my idp' }, 'idpEntityId'],
    ['IdP entity id too long', { ...VALID, idpEntityId: `urn:${'x'.repeat(1100)}` }, 'idpEntityId'],
    ['SP entity id that is not a URI', { ...VALID, spEntityId: 'fedbridge' }, 'spEntityId'],
    ['AuthnContextClassRef that is not a URI', { ...VALID, authnContextClassRef: 'Password' }, 'authnContextClassRef'],
    ['default target that is relative', { ...VALID, defaultTargetUrl: '/home' }, 'defaultTargetUrl'],
    ['error URL with a fragment', { ...VALID, errorUrl: 'https://help.example.com/#err' }, 'errorUrl'],
    ['error URL with a data: scheme', { ...VALID, errorUrl: 'data:text/html,x' }, 'errorUrl'],
    ['single logout without logout URL', { ...VALID, singleLogout: true }, 'logoutUrl'],
    ['logout URL over http', { ...VALID, logoutUrl: 'http://idp.example.com/logout' }, 'logoutUrl'],
    ['negative clock skew', { ...VALID, clockSkewSeconds: -1 }, 'clockSkewSeconds'],
    ['clock skew over 600', { ...VALID, clockSkewSeconds: 601 }, 'clockSkewSeconds'],
    ['fractional clock skew', { ...VALID, clockSkewSeconds: 1.5 }, 'clockSkewSeconds'],
    ['clock skew as a string', { ...VALID, clockSkewSeconds: '180' }, 'clockSkewSeconds'],
    ['session too short', { ...VALID, maxSessionSeconds: 10 }, 'maxSessionSeconds'],
    ['refresh token TTL too long', { ...VALID, refreshTokenTtlSeconds: 10 * 365 * 24 * 3600 }, 'refreshTokenTtlSeconds'],
    ['WS-Fed without federation service URI', { protocol: 'wsfed', ssoLoginUrl: 'https://adfs.example.com/adfs/ls/' }, 'federationServiceUri'],
    ['WS-Fed without login URL', { protocol: 'wsfed', federationServiceUri: 'urn:adfs' }, 'ssoLoginUrl'],
    ['WS-Fed realm that is not a URI', { ...VALID, wsfedRealm: 'webex' }, 'wsfedRealm'],
    ['attribute map to an unknown attribute', { ...VALID, attributeMap: { mail: 'emailAddress' } }, 'attributeMap.mail'],
    ['attribute map to a role', { ...VALID, attributeMap: { role: 'orgAdmin' } }, 'attributeMap.role'],
    ['attribute map with a key twice', { ...VALID, attributeMap: { Mail: 'email', mail: 'email' } }, 'attributeMap.mail'],
    ['attribute map with an empty key', { ...VALID, attributeMap: { ' ': 'email' } }, 'attributeMap. '],
    ['attribute map that is a list', { ...VALID, attributeMap: ['email'] }, 'attributeMap'],
    ['attribute map value that is not a string', { ...VALID, attributeMap: { mail: 1 } }, 'attributeMap.mail'],
  ];
  for (const [name, input, field] of INVALID) {
    it(`refuses ${name}, naming ${field}`, () => {
      assert.ok(fieldsAtFault(input).includes(field), `${JSON.stringify(fieldsAtFault(input))} should include ${field}`);
    });
  }

  it('refuses unknown fields (strict)', () => {
    const r = schema.safeParse({ ...VALID, colour: 'red' });
    assert.equal(r.success, false);
    assert.ok(r.error!.issues.some((i) => i.code === 'unrecognized_keys'));
  });

  it('tells loopback hosts from lookalikes', () => {
    for (const h of ['localhost', 'LOCALHOST', 'idp.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['localhost.example.com', '128.0.0.1', '10.0.0.1', 'example.com', '[::2]']) assert.equal(isLoopbackHost(h), false, h);
    assert.equal(urlProblem('http://127.0.0.1:9000/sso', { httpsUnlessLoopback: true }), undefined);
    assert.equal(urlProblem('http://[::1]:9000/sso', { httpsUnlessLoopback: true }), undefined);
    assert.equal(urlProblem('http://help.example.com/', { httpsUnlessLoopback: false }), undefined);
  });

  it('reports which fields changed', () => {
    const a = schema.parse(VALID);
    const b = schema.parse({ ...VALID, clockSkewSeconds: 60, attributeMap: { mail: 'email' } });
    assert.deepEqual(changedSsoFields(a, b), ['clockSkewSeconds', 'attributeMap']);
    assert.deepEqual(changedSsoFields(a, schema.parse(VALID)), []);
  });
});
