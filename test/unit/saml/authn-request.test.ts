import assert from 'node:assert/strict';
import type { Element } from '@xmldom/xmldom';
import { buildAuthnRequest, newSamlId, toSamlInstant } from '../../../src/saml/authn-request.js';
import { BINDING, NS } from '../../../src/saml/namespaces.js';
import { NAME_ID_FORMAT_URN } from '../../../src/saml/name-id-formats.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { childElements } from '../../../src/xml/dom.js';

const base = {
  id: '_0123456789abcdef0123456789abcdef01234567',
  issueInstant: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  destination: 'https://idp.example.com/sso?tenant=a&x=1',
  acsUrl: 'https://bridge.example.net/sso/example.com/saml/acs',
  spEntityId: 'https://bridge.example.net',
  nameIdFormat: 'emailAddress' as const,
};

function parse(xml: string): Element {
  return parseXmlStrict(xml).documentElement!;
}

describe('saml/authn-request', () => {
  it('newSamlId is an NCName with 160 random bits', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newSamlId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^_[0-9a-f]{40}$/);
  });

  it('carries every field R-SAML-2 requires, in the protocol namespace', () => {
    const root = parse(buildAuthnRequest({ ...base, authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509' }));
    assert.equal(root.namespaceURI, NS.samlp);
    assert.equal(root.localName, 'AuthnRequest');
    assert.equal(root.getAttribute('ID'), base.id);
    assert.equal(root.getAttribute('Version'), '2.0');
    assert.equal(root.getAttribute('IssueInstant'), '2026-01-02T03:04:05Z');
    assert.equal(root.getAttribute('Destination'), base.destination);
    assert.equal(root.getAttribute('AssertionConsumerServiceURL'), base.acsUrl);
    assert.equal(root.getAttribute('ProtocolBinding'), BINDING.httpPost);
    assert.equal(root.hasAttribute('ForceAuthn'), false);

    // Schema order: Issuer, NameIDPolicy, RequestedAuthnContext.
    const children = childElements(root);
    assert.deepEqual(
      children.map((c) => `${c.namespaceURI}|${c.localName}`),
      [`${NS.saml}|Issuer`, `${NS.samlp}|NameIDPolicy`, `${NS.samlp}|RequestedAuthnContext`],
    );
    assert.equal(children[0]!.textContent, base.spEntityId);
    assert.equal(children[1]!.getAttribute('Format'), NAME_ID_FORMAT_URN.emailAddress);
    assert.equal(children[1]!.getAttribute('AllowCreate'), 'true');
    assert.equal(children[2]!.getAttribute('Comparison'), 'exact');
    const classRefs = childElements(children[2]!, NS.saml, 'AuthnContextClassRef');
    assert.equal(classRefs.length, 1);
    assert.equal(classRefs[0]!.textContent, 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509');
  });

  it('leaves out RequestedAuthnContext when none is configured, and sets ForceAuthn when asked', () => {
    const root = parse(buildAuthnRequest({ ...base, nameIdFormat: 'unspecified', forceAuthn: true }));
    assert.equal(childElements(root, NS.samlp, 'RequestedAuthnContext').length, 0);
    assert.equal(root.getAttribute('ForceAuthn'), 'true');
    assert.equal(childElements(root, NS.samlp, 'NameIDPolicy')[0]!.getAttribute('Format'), NAME_ID_FORMAT_URN.unspecified);
  });

  it('escapes configured values instead of letting them inject markup', () => {
    const hostile = 'urn:x"/><saml:Issuer>evil</saml:Issuer><x a="';
    const xml = buildAuthnRequest({
      ...base,
      spEntityId: '<saml:Issuer>evil</saml:Issuer>&amp;',
      destination: 'https://idp.example.com/?a=1&b="2"',
      authnContextClassRef: hostile,
    });
    const root = parse(xml);
    const issuers = childElements(root, NS.saml, 'Issuer');
    assert.equal(issuers.length, 1);
    assert.equal(issuers[0]!.textContent, '<saml:Issuer>evil</saml:Issuer>&amp;');
    assert.equal(root.getAttribute('Destination'), 'https://idp.example.com/?a=1&b="2"');
    const requested = childElements(root, NS.samlp, 'RequestedAuthnContext')[0]!;
    assert.equal(childElements(requested)[0]!.textContent, hostile);
    assert.equal(childElements(requested).length, 1);
  });

  it('refuses an ID that is not an NCName and text XML cannot carry', () => {
    assert.throws(() => buildAuthnRequest({ ...base, id: '1abc' }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, id: '_a b' }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, spEntityId: 'a\u0000b' }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, acsUrl: '' }), TypeError);
  });

  it('writes instants in UTC at second precision', () => {
    assert.equal(toSamlInstant(Date.UTC(2030, 11, 31, 23, 59, 59, 999)), '2030-12-31T23:59:59Z');
    assert.throws(() => toSamlInstant(Number.NaN), TypeError);
  });
});
