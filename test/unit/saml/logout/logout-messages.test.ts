import assert from 'node:assert/strict';
import { buildLogoutRequest, buildLogoutResponse, readLogoutMessage, type LogoutCheckSettings } from '../../../../src/saml/logout/logout-messages.js';
import { STATUS } from '../../../../src/saml/namespaces.js';
import { SsoError } from '../../../../src/saml/sso-error.js';
import { parseXmlStrict } from '../../../../src/xml/strict-parser.js';
import { validateWithXsd } from '../metadata/xml-schema.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const IDP = 'https://idp.example/saml';
const SLO = 'https://sp.fedbridge.test/sso/example.com/saml/slo';
const settings: LogoutCheckSettings = { idpEntityId: IDP, sloUrl: SLO, now: NOW, clockSkewSeconds: 180 };
const read = (xml: string, s: Partial<LogoutCheckSettings> = {}) => readLogoutMessage(parseXmlStrict(xml).documentElement!, { ...settings, ...s });

function idpRequest(overrides: { issuer?: string; destination?: string | null; issueInstant?: number; notOnOrAfter?: number; body?: string } = {}): string {
  const xml = buildLogoutRequest({
    id: '_req1',
    issueInstant: overrides.issueInstant ?? NOW,
    destination: overrides.destination ?? SLO,
    issuer: overrides.issuer ?? IDP,
    nameId: 'alice@example.com',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    sessionIndex: '_s1',
    ...(overrides.notOnOrAfter !== undefined ? { notOnOrAfter: overrides.notOnOrAfter } : {}),
  });
  return overrides.destination === null ? xml.replace(/ Destination="[^"]*"/, '') : xml;
}

function refused(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SsoError, String(err));
    assert.equal(err.code, code);
    assert.match(err.reason, pattern);
    return true;
  });
}

describe('single logout messages (R-SAML-9)', () => {
  it('our LogoutRequest and LogoutResponse are valid against the OASIS protocol schema', () => {
    const request = idpRequest();
    assert.ok(validateWithXsd(request, 'saml-schema-protocol-2.0.xsd').ok, validateWithXsd(request, 'saml-schema-protocol-2.0.xsd').output);
    const response = buildLogoutResponse({ id: '_resp1', issueInstant: NOW, destination: 'https://idp.example/slo', issuer: 'https://sp', inResponseTo: '_req1' });
    const r = validateWithXsd(response, 'saml-schema-protocol-2.0.xsd');
    assert.ok(r.ok, r.output);
  });

  it('reads a LogoutRequest: NameID, format, SessionIndexes', () => {
    const m = read(idpRequest());
    assert.deepEqual(m, {
      kind: 'LogoutRequest',
      id: '_req1',
      issuer: IDP,
      nameId: 'alice@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      sessionIndexes: ['_s1'],
    });
    assert.equal(read(idpRequest({ destination: null })).kind, 'LogoutRequest', 'Destination is optional');
  });

  it('reads a LogoutResponse: InResponseTo and status', () => {
    const xml = buildLogoutResponse({ id: '_r', issueInstant: NOW, destination: SLO, issuer: IDP, inResponseTo: '_ours', statusCode: STATUS.responder });
    assert.deepEqual(read(xml), { kind: 'LogoutResponse', id: '_r', issuer: IDP, inResponseTo: '_ours', statusCode: STATUS.responder });
  });

  it('refuses another issuer, another destination, stale, future and expired messages', () => {
    refused(() => read(idpRequest({ issuer: 'https://evil.example' })), 'SSO_ISSUER', /not the IdP entity id/);
    refused(() => read(idpRequest({ destination: 'https://sp.fedbridge.test/sso/other.com/saml/slo' })), 'SSO_DESTINATION', /not this SLO URL/);
    refused(() => read(idpRequest({ issueInstant: NOW + 181_000 })), 'SSO_EXPIRED', /future/);
    assert.equal(read(idpRequest({ issueInstant: NOW + 179_000 })).kind, 'LogoutRequest', 'within the skew');
    refused(() => read(idpRequest({ issueInstant: NOW - 14 * 60_000 })), 'SSO_EXPIRED', /too old/);
    refused(() => read(idpRequest({ issueInstant: NOW - 60_000, notOnOrAfter: NOW - 181_000 })), 'SSO_EXPIRED', /NotOnOrAfter/);
  });

  it('refuses what is not a logout message, a wrong Version, no NameID, an EncryptedID', () => {
    refused(() => read('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"/>'), 'SSO_MALFORMED', /expected samlp:LogoutRequest/);
    refused(() => read(idpRequest().replace('Version="2.0"', 'Version="1.1"')), 'SSO_MALFORMED', /Version/);
    refused(() => read(idpRequest().replace(/<saml:NameID[\s\S]*?<\/saml:NameID>/, '')), 'SSO_NAMEID', /no NameID/);
    refused(
      () => read(idpRequest().replace(/<saml:NameID[\s\S]*?<\/saml:NameID>/, '<saml:EncryptedID/>')),
      'SSO_NAMEID',
      /encrypted NameID/,
    );
    // A NameID in another namespace is not the SAML NameID.
    refused(
      () => read(idpRequest().replace(/<saml:NameID([^>]*)>([^<]*)<\/saml:NameID>/, '<x:NameID xmlns:x="urn:other"$1>$2</x:NameID>')),
      'SSO_NAMEID',
      /no NameID/,
    );
  });

  it('escapes values when building (a NameID cannot inject elements)', () => {
    const xml = buildLogoutRequest({ id: '_q', issueInstant: NOW, destination: SLO, issuer: IDP, nameId: '<saml:SessionIndex>x</saml:SessionIndex>' });
    const m = read(xml);
    assert.equal(m.kind === 'LogoutRequest' && m.nameId, '<saml:SessionIndex>x</saml:SessionIndex>');
    assert.deepEqual(m.kind === 'LogoutRequest' && m.sessionIndexes, []);
  });
});
