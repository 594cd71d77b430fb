/**
 * The steps that look at the received message before any signature (R-SAML-3, rules 1–3):
 * decode-body, parse-xml, check-envelope, check-status, check-destination,
 * check-response-issuer. Each case is a crafted body; each refusal names its exact code.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/clock.js';
import { checkDestination } from '../../../../src/saml/acs/check-destination.js';
import { checkEnvelope } from '../../../../src/saml/acs/check-envelope.js';
import { checkResponseIssuer } from '../../../../src/saml/acs/check-response-issuer.js';
import { checkStatus } from '../../../../src/saml/acs/check-status.js';
import type { ReceivedResponse } from '../../../../src/saml/acs/context.js';
import { decodeBody, MAX_SAML_RESPONSE_BYTES } from '../../../../src/saml/acs/decode-body.js';
import { parseXml } from '../../../../src/saml/acs/parse-xml.js';
import { NAME_ID_FORMAT_URN } from '../../../../src/saml/name-id-formats.js';
import { NS, STATUS } from '../../../../src/saml/namespaces.js';
import { SsoError, type SsoErrorCode } from '../../../../src/saml/sso-error.js';
import { ACS_URL, FakeAcsBackend, IDP_ENTITY_ID, NOW, settings } from './acs-fixtures.js';

const base = () => ({ settings: settings(), deps: new FakeAcsBackend().deps(), clock: new ManualClock(NOW) });
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function refusedWith(code: SsoErrorCode, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SsoError, `expected SsoError, got ${String(err)}`);
    assert.equal(err.code, code, err.reason);
    return true;
  });
}

function response(opts: { attrs?: string; inner?: string; root?: string } = {}): string {
  const root = opts.root ?? 'samlp:Response';
  const attrs = opts.attrs ?? `ID="_r1" Version="2.0" IssueInstant="2026-06-01T12:00:00Z" Destination="${ACS_URL}"`;
  const inner =
    opts.inner ??
    `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${STATUS.success}"/></samlp:Status>`;
  return `<${root} xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ${attrs}>${inner}</${root}>`;
}

/** Runs decode-body, parse-xml and check-envelope on `xml`. */
function received(xml: string): ReceivedResponse {
  return checkEnvelope(parseXml(decodeBody({ ...base(), samlResponse: b64(xml) })));
}

describe('ACS decode-body', () => {
  const cases: Array<[string, unknown]> = [
    ['absent', undefined],
    ['empty', ''],
    ['repeated field (array)', [b64('<a/>'), b64('<b/>')]],
    ['an object (extended form parsing)', { a: 1 }],
    ['a space (an unencoded +)', 'PHNhbWxw OlJlc3BvbnNlLz4='],
    ['a stray *', 'PHNhbWxwOlJlc3BvbnNl*'],
    ['markup', '<samlp:Response/>'],
    ['bad padding', 'PHNhbWxwOlJlc3BvbnNlLz4'],
    ['padding in the middle', 'PH=hbWxwOlJlc3BvbnNlLz4='],
    ['url-safe alphabet', 'PHNhbWxwOlJlc3BvbnNlLz4_'],
    ['over 256 KiB', 'A'.repeat(MAX_SAML_RESPONSE_BYTES + 4)],
  ];
  for (const [name, value] of cases) {
    it(`refuses ${name} [SSO_MALFORMED]`, () => {
      refusedWith('SSO_MALFORMED', () => decodeBody({ ...base(), samlResponse: value }));
    });
  }

  it('accepts strict base64, also wrapped at 76 columns with CRLF, and decodes it exactly', () => {
    const xml = response();
    const wrapped = b64(xml).replace(/.{76}/g, '$&\r\n');
    assert.ok(wrapped.includes('\r\n'));
    assert.equal(decodeBody({ ...base(), samlResponse: wrapped }).xml.toString('utf8'), xml);
    assert.equal(decodeBody({ ...base(), samlResponse: b64(xml) }).xml.toString('utf8'), xml);
  });

  it('accepts exactly the limit', () => {
    const value = 'A'.repeat(MAX_SAML_RESPONSE_BYTES);
    assert.equal(decodeBody({ ...base(), samlResponse: value }).xml.length, (MAX_SAML_RESPONSE_BYTES / 4) * 3);
  });
});

describe('ACS parse-xml and check-envelope', () => {
  const refusals: Array<[string, string]> = [
    ['not XML', 'hello, world'],
    ['a DOCTYPE', `<!DOCTYPE samlp:Response>${response()}`],
    ['an internal entity', `<!DOCTYPE r [<!ENTITY e "x">]>${response({ inner: '&e;' })}`],
    ['an undeclared entity reference', response({ inner: '&ext;' })],
    ['two roots', `${response()}${response()}`],
    ['a truncated document', response().slice(0, -10)],
    ['an Assertion root', `<saml:Assertion xmlns:saml="${NS.saml}" ID="_a" Version="2.0"/>`],
    ['an AuthnRequest root', response({ root: 'samlp:AuthnRequest' })],
    ['Response in the SAML 1.x protocol namespace', `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol" ID="_r" Version="2.0"/>`],
    ['Response in no namespace', `<Response ID="_r" Version="2.0"/>`],
    ['samlp prefix bound to another namespace', `<samlp:Response xmlns:samlp="urn:evil" ID="_r" Version="2.0"/>`],
    ['Version 1.1', response({ attrs: 'ID="_r" Version="1.1"' })],
    ['no Version', response({ attrs: 'ID="_r"' })],
    ['no ID', response({ attrs: 'Version="2.0"' })],
    ['a prefixed ID only', response({ attrs: `xmlns:x="urn:x" x:ID="_r" Version="2.0"` })],
  ];
  for (const [name, xml] of refusals) {
    it(`refuses ${name} [SSO_MALFORMED]`, () => refusedWith('SSO_MALFORMED', () => received(xml)));
  }

  it('accepts a Response under any prefix (matched by namespace) and passes on only the root element', () => {
    const xml = `<p:Response xmlns:p="${NS.samlp}" ID="_r" Version="2.0"><p:Status><p:StatusCode Value="${STATUS.success}"/></p:Status></p:Response>`;
    const r = received(xml);
    assert.equal(r.response.localName, 'Response');
    assert.deepEqual(Object.keys(r).sort(), ['clock', 'deps', 'response', 'settings'], 'the document is not passed on');
  });
});

describe('ACS check-status', () => {
  it('passes Success', () => {
    const r = received(response());
    assert.equal(checkStatus(r), r);
  });

  it('refuses a non-success status with SSO_IDP_STATUS, the IdP code (and sub-code) as public detail, the message only in the reason', () => {
    const inner = `<samlp:Status><samlp:StatusCode Value="${STATUS.responder}"><samlp:StatusCode Value="${STATUS.authnFailed}"/></samlp:StatusCode><samlp:StatusMessage>bad password</samlp:StatusMessage></samlp:Status>`;
    assert.throws(
      () => checkStatus(received(response({ inner }))),
      (err: SsoError) => {
        assert.equal(err.code, 'SSO_IDP_STATUS');
        assert.equal(err.detail, `${STATUS.responder} / ${STATUS.authnFailed}`);
        assert.match(err.reason, /bad password/);
        return true;
      },
    );
    assert.throws(
      () => checkStatus(received(response({ inner: `<samlp:Status><samlp:StatusCode Value="${STATUS.requester}"/></samlp:Status>` }))),
      (err: SsoError) => err.code === 'SSO_IDP_STATUS' && err.detail === STATUS.requester,
    );
  });

  const malformed: Array<[string, string]> = [
    ['no Status', ''],
    ['two Status', `<samlp:Status><samlp:StatusCode Value="${STATUS.success}"/></samlp:Status>`.repeat(2)],
    ['no StatusCode', '<samlp:Status/>'],
    ['a StatusCode without Value', '<samlp:Status><samlp:StatusCode/></samlp:Status>'],
    ['Status in the assertion namespace', `<saml:Status><saml:StatusCode Value="${STATUS.success}"/></saml:Status>`],
  ];
  for (const [name, inner] of malformed) {
    it(`refuses ${name} [SSO_MALFORMED]`, () => refusedWith('SSO_MALFORMED', () => checkStatus(received(response({ inner })))));
  }
});

describe('ACS check-destination', () => {
  it('passes our ACS URL, and no Destination at all (optional)', () => {
    checkDestination(received(response()));
    checkDestination(received(response({ attrs: 'ID="_r" Version="2.0"' })));
  });
  const wrong = [
    `${ACS_URL}/`,
    ACS_URL.toUpperCase(),
    'https://sp.fedbridge.test/sso/other.example/saml/acs',
    `${ACS_URL}?x=1`,
    '',
  ];
  for (const destination of wrong) {
    it(`refuses Destination ${JSON.stringify(destination)} [SSO_DESTINATION]`, () => {
      refusedWith('SSO_DESTINATION', () => checkDestination(received(response({ attrs: `ID="_r" Version="2.0" Destination="${destination}"` }))));
    });
  }
});

describe('ACS check-response-issuer', () => {
  const status = `<samlp:Status><samlp:StatusCode Value="${STATUS.success}"/></samlp:Status>`;
  it('passes the configured IdP (surrounding whitespace ignored), an entity Format, or no Issuer (optional on the Response)', () => {
    for (const issuer of [
      `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>`,
      `<saml:Issuer>\n  ${IDP_ENTITY_ID}\n</saml:Issuer>`,
      `<saml:Issuer Format="${NAME_ID_FORMAT_URN.entity}">${IDP_ENTITY_ID}</saml:Issuer>`,
      '',
    ]) {
      checkResponseIssuer(received(response({ inner: `${issuer}${status}` })));
    }
  });
  const refusals: Array<[string, string]> = [
    ['another issuer', '<saml:Issuer>https://evil.example/idp</saml:Issuer>'],
    ['a prefix of ours', `<saml:Issuer>${IDP_ENTITY_ID.slice(0, -1)}</saml:Issuer>`],
    ['an empty Issuer', '<saml:Issuer/>'],
    ['two Issuers (ours second)', `<saml:Issuer>https://evil.example</saml:Issuer><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>`],
    ['a non-entity Format', `<saml:Issuer Format="${NAME_ID_FORMAT_URN.emailAddress}">${IDP_ENTITY_ID}</saml:Issuer>`],
  ];
  for (const [name, issuer] of refusals) {
    it(`refuses ${name} [SSO_ISSUER]`, () => refusedWith('SSO_ISSUER', () => checkResponseIssuer(received(response({ inner: `${issuer}${status}` })))));
  }
  it('does not take an Issuer of another namespace for ours', () => {
    // {urn:evil}Issuer is not saml:Issuer: the Response then has no Issuer, which is allowed here.
    const r = received(response({ inner: `<e:Issuer xmlns:e="urn:evil">${IDP_ENTITY_ID}</e:Issuer>${status}` }));
    checkResponseIssuer(r);
    const evil = received(response({ inner: `<saml:Issuer xmlns:saml="urn:evil">x</saml:Issuer>${status}` }));
    checkResponseIssuer(evil);
  });
});
