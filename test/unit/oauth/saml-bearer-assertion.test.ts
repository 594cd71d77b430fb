/**
 * RFC 7522 §3 checks, table-driven on crafted assertions. `checkBearerAssertion` reads what the
 * signed-content verifier returns; here the crafted element stands in for it (the signature
 * path is covered end to end in test/integration/oauth/custom-grants.test.ts).
 */
import assert from 'node:assert/strict';
import { checkBearerAssertion, parseBearerAssertion, type BearerExpectations } from '../../../src/oauth/saml-bearer-assertion.js';
import { SsoError } from '../../../src/saml/sso-error.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const TOKEN = 'https://sp.example/oauth/token';
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Parts {
  version?: string;
  id?: string | null;
  issuer?: string | null;
  nameId?: string | null;
  nameIdFormat?: string | null;
  encryptedId?: boolean;
  method?: string;
  recipient?: string | null;
  scNotOnOrAfter?: string | null;
  scNotBefore?: string;
  conditions?: boolean;
  notBefore?: string;
  notOnOrAfter?: string;
  audiences?: string[][];
  authn?: boolean;
  classRef?: string;
  attributes?: Record<string, string>;
}

function assertionXml(p: Parts = {}): string {
  const attr = (name: string, v: string | null | undefined) => (v === null || v === undefined ? '' : ` ${name}="${v}"`);
  const subject =
    p.encryptedId
      ? '<saml:EncryptedID/>'
      : p.nameId === null
        ? ''
        : `<saml:NameID${attr('Format', p.nameIdFormat === undefined ? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' : p.nameIdFormat)}>${p.nameId ?? 'jane@acme.com'}</saml:NameID>`;
  const sc = `<saml:SubjectConfirmation Method="${p.method ?? 'urn:oasis:names:tc:SAML:2.0:cm:bearer'}"><saml:SubjectConfirmationData${attr('Recipient', p.recipient === undefined ? TOKEN : p.recipient)}${attr('NotOnOrAfter', p.scNotOnOrAfter === undefined ? iso(NOW + 300_000) : p.scNotOnOrAfter)}${attr('NotBefore', p.scNotBefore)}/></saml:SubjectConfirmation>`;
  const audiences = (p.audiences ?? [[TOKEN]]).map((list) => `<saml:AudienceRestriction>${list.map((a) => `<saml:Audience>${a}</saml:Audience>`).join('')}</saml:AudienceRestriction>`).join('');
  const conditions = p.conditions === false ? '' : `<saml:Conditions${attr('NotBefore', p.notBefore ?? iso(NOW - 1000))}${attr('NotOnOrAfter', p.notOnOrAfter ?? iso(NOW + 300_000))}>${audiences}</saml:Conditions>`;
  const authn =
    p.authn === false
      ? ''
      : `<saml:AuthnStatement AuthnInstant="${iso(NOW)}"><saml:AuthnContext><saml:AuthnContextClassRef>${p.classRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
  const attrs = p.attributes
    ? `<saml:AttributeStatement>${Object.entries(p.attributes).map(([n, v]) => `<saml:Attribute Name="${n}"><saml:AttributeValue>${v}</saml:AttributeValue></saml:Attribute>`).join('')}</saml:AttributeStatement>`
    : '';
  return `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"${attr('ID', p.id === undefined ? '_a1' : p.id)} Version="${p.version ?? '2.0'}" IssueInstant="${iso(NOW)}">${p.issuer === null ? '' : `<saml:Issuer>${p.issuer ?? 'https://idp.example'}</saml:Issuer>`}<saml:Subject>${subject}${sc}</saml:Subject>${conditions}${authn}${attrs}</saml:Assertion>`;
}

const EXPECT: BearerExpectations = {
  idpEntityId: 'https://idp.example',
  audiences: [TOKEN, 'https://sp.example'],
  nameIdFormat: 'emailAddress',
  authnContextClassRef: null,
  now: NOW,
  skewMs: 180_000,
};

function check(p: Parts, exp: Partial<BearerExpectations> = {}) {
  return checkBearerAssertion(parseXmlStrict(assertionXml(p)).documentElement!, { ...EXPECT, ...exp });
}

describe('oauth/saml-bearer-assertion', () => {
  it('accepts a well-formed bearer assertion and reports its id, subject and lifetime', () => {
    const facts = check({ attributes: { ssoid: 'abc', mail: 'jane@acme.com' } });
    assert.equal(facts.assertionId, '_a1');
    assert.equal(facts.nameId, 'jane@acme.com');
    assert.equal(facts.notOnOrAfter, NOW + 300_000);
    assert.deepEqual(facts.attributes, { ssoid: 'abc', mail: 'jane@acme.com' });
    // The SP entity id is as good as the token endpoint (R-OAUTH-3).
    check({ recipient: 'https://sp.example', audiences: [['https://sp.example']] });
    // Within the skew either way.
    check({ scNotOnOrAfter: iso(NOW - 60_000), notOnOrAfter: iso(NOW - 60_000) });
    check({ notBefore: iso(NOW + 60_000) });
  });

  const refusals: Array<[string, Parts, Partial<BearerExpectations>, string]> = [
    ['version 1.1', { version: '1.1' }, {}, 'SSO_MALFORMED'],
    ['no ID', { id: null }, {}, 'SSO_MALFORMED'],
    ['another issuer', { issuer: 'https://evil.example' }, {}, 'SSO_ISSUER'],
    ['no issuer', { issuer: null }, {}, 'SSO_ISSUER'],
    ['no NameID', { nameId: null }, {}, 'SSO_NAMEID'],
    ['empty NameID', { nameId: ' ' }, {}, 'SSO_NAMEID'],
    ['EncryptedID', { encryptedId: true }, {}, 'SSO_NAMEID'],
    ['another NameID format', { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, {}, 'SSO_NAMEID'],
    ['holder-of-key', { method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['recipient elsewhere', { recipient: 'https://elsewhere.example/token' }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['no recipient', { recipient: null }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['no NotOnOrAfter', { scNotOnOrAfter: null }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['confirmation expired beyond skew', { scNotOnOrAfter: iso(NOW - 181_000) }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['confirmation not yet valid', { scNotBefore: iso(NOW + 181_000) }, {}, 'SSO_SUBJECT_CONFIRMATION'],
    ['non-UTC instant', { scNotOnOrAfter: '2026-11-23T13:00:00+01:00' }, {}, 'SSO_MALFORMED'],
    ['no Conditions', { conditions: false }, {}, 'SSO_AUDIENCE'],
    ['not yet valid', { notBefore: iso(NOW + 181_000) }, {}, 'SSO_EXPIRED'],
    ['expired', { notOnOrAfter: iso(NOW - 181_000) }, {}, 'SSO_EXPIRED'],
    ['no AudienceRestriction', { audiences: [] }, {}, 'SSO_AUDIENCE'],
    ['another audience', { audiences: [['https://other.example']] }, {}, 'SSO_AUDIENCE'],
    ['a second restriction without us', { audiences: [[TOKEN], ['https://other.example']] }, {}, 'SSO_AUDIENCE'],
    ['no AuthnStatement', { authn: false }, {}, 'SSO_AUTHN_CONTEXT'],
    ['another context class', { classRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password' }, { authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509' }, 'SSO_AUTHN_CONTEXT'],
  ];
  for (const [label, parts, exp, code] of refusals) {
    it(`refuses ${label} with ${code}`, () => {
      assert.throws(() => check(parts, exp), (err: unknown) => err instanceof SsoError && err.code === code);
    });
  }

  it('parses base64url and base64, and refuses what is not one Assertion', () => {
    const xml = assertionXml();
    assert.equal(parseBearerAssertion(Buffer.from(xml).toString('base64url')).unverifiedIssuer, 'https://idp.example');
    assert.equal(parseBearerAssertion(Buffer.from(xml).toString('base64')).assertion.localName, 'Assertion');
    const bad: Array<[string, string]> = [
      ['', 'SSO_MALFORMED'],
      ['not*base64', 'SSO_MALFORMED'],
      [Buffer.from('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>').toString('base64url'), 'SSO_MALFORMED'],
      [Buffer.from('<!DOCTYPE a [<!ENTITY x "y">]><a/>').toString('base64url'), 'SSO_MALFORMED'],
      [Buffer.from(assertionXml({ issuer: null })).toString('base64url'), 'SSO_ISSUER'],
      ['A'.repeat(400_000), 'SSO_MALFORMED'],
    ];
    for (const [param, code] of bad) {
      assert.throws(() => parseBearerAssertion(param), (err: unknown) => err instanceof SsoError && err.code === code, param.slice(0, 30));
    }
  });
});
