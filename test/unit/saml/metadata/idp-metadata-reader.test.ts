import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseXmlStrict } from '../../../../src/xml/strict-parser.js';
import { idpSettingsFrom, parseXsDuration, parseXsDateTime, readIdpMetadata } from '../../../../src/saml/metadata/idp-metadata-reader.js';
import { MetadataInputError } from '../../../../src/saml/metadata/metadata-input-error.js';
import { BINDING } from '../../../../src/saml/namespaces.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const fixture = (name: string) => readFileSync(new URL(`../../../../metadata/${name}`, import.meta.url), 'utf8');
const root = (xml: string) => parseXmlStrict(xml).documentElement!;
const read = (xml: string, entityId?: string) => readIdpMetadata(root(xml), { entityId, now: NOW });

function refusal(fn: () => unknown, pattern: RegExp, field = 'metadata'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MetadataInputError, `expected MetadataInputError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.equal(err.field, field);
    return true;
  });
}

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
function entity(attrs: string, roles: string): string {
  return `<md:EntityDescriptor xmlns:md="${MD}" ${attrs}>${roles}</md:EntityDescriptor>`;
}
const SSO_REDIRECT = `<md:SingleSignOnService Binding="${BINDING.httpRedirect}" Location="https://idp.example/sso"/>`;
const IDP_ROLE = `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${SSO_REDIRECT}</md:IDPSSODescriptor>`;

describe('IdP metadata reader (R-SAML-7)', () => {
  describe('real-world shapes (metadata/)', () => {
    it('AD FS FederationMetadata.xml: the SAML IdP role next to WS-Fed roles and an SP role', () => {
      const meta = read(fixture('adfs-federationmetadata.xml'));
      assert.equal(meta.entityId, 'http://adfs.example.com/adfs/services/trust');
      assert.equal(meta.hasWsFedRole, true);
      // Two signing certificates of the IDPSSODescriptor; the encryption one and the SP/STS roles' are not read.
      assert.equal(meta.signingCertificates.length, 2);
      assert.equal(meta.wantAuthnRequestsSigned, undefined);
      const s = idpSettingsFrom(meta);
      assert.deepEqual(s.config, {
        idpEntityId: 'http://adfs.example.com/adfs/services/trust',
        ssoLoginUrl: 'https://adfs.example.com/adfs/ls/',
        ssoLoginBinding: 'redirect',
        logoutUrl: 'https://adfs.example.com/adfs/ls/',
        nameIdFormat: 'emailAddress',
      });
      assert.equal(s.singleLogoutService?.binding, BINDING.httpRedirect);
    });

    it('Okta: Redirect preferred although POST is listed first; WantAuthnRequestsSigned="false"; no SLO', () => {
      const meta = read(fixture('okta-idp-metadata.xml'));
      const s = idpSettingsFrom(meta);
      assert.equal(s.config.ssoLoginBinding, 'redirect');
      assert.equal(s.config.authnRequestSigned, false);
      assert.equal(s.config.authnRequestDestination, undefined);
      assert.equal(s.config.nameIdFormat, 'unspecified');
      assert.equal(s.config.logoutUrl, undefined);
      assert.equal(s.singleLogoutService, undefined);
      assert.equal(meta.signingCertificates.length, 1);
    });

    it('Entra ID: no NameIDFormat leaves the configured one; both rollover certificates are read', () => {
      const meta = read(fixture('entra-id-federationmetadata.xml'));
      assert.equal(meta.entityId, 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/');
      assert.equal(meta.signingCertificates.length, 2);
      assert.equal(meta.hasWsFedRole, true);
      const s = idpSettingsFrom(meta);
      assert.equal(s.config.nameIdFormat, undefined);
      assert.equal(s.config.ssoLoginBinding, 'redirect');
      assert.equal(s.config.logoutUrl, 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2');
    });

    it('Shibboleth IdP: transient skipped for persistent, Redirect SSO/SLO chosen among SOAP/Artifact/SimpleSign, certificates whitespace-wrapped', () => {
      const meta = read(fixture('shibboleth-idp-metadata.xml'));
      assert.equal(meta.validUntil, Date.UTC(2099, 0, 1));
      assert.equal(meta.signingCertificates.length, 2, 'back- and front-channel signing; not the encryption certificate');
      for (const c of meta.signingCertificates) assert.doesNotMatch(c, /\s/);
      const s = idpSettingsFrom(meta);
      assert.equal(s.config.nameIdFormat, 'persistent');
      assert.equal(s.config.ssoLoginUrl, 'https://idp.example.edu/idp/profile/SAML2/Redirect/SSO');
      assert.equal(s.config.logoutUrl, 'https://idp.example.edu/idp/profile/SAML2/Redirect/SLO');
    });

    it('federation aggregate: several IdPs need ?entityId=, which picks one from nested EntitiesDescriptors', () => {
      const xml = fixture('federation-aggregate.xml');
      refusal(() => read(xml), /describes 2 identity providers.*idp-a.*idp-b/, 'entityId');
      const a = read(xml, 'https://idp-a.example.org/idp');
      assert.equal(a.cacheDurationMs, 6 * 3600_000);
      assert.equal(a.signingCertificates.length, 1, 'a KeyDescriptor without use is a signing key');
      const b = read(xml, 'https://idp-b.example.org/idp');
      assert.equal(b.cacheDurationMs, 2 * 3600_000, 'the shortest cacheDuration on the path');
      assert.equal(b.validUntil, Date.UTC(2099, 11, 31));
      const s = idpSettingsFrom(b);
      assert.equal(s.config.ssoLoginBinding, 'post', 'POST when there is no Redirect');
      assert.equal(s.config.authnRequestSigned, true);
      assert.equal(s.config.authnRequestDestination, 'https://idp-b.example.org/sso');
      assert.deepEqual(s.singleLogoutService, {
        binding: BINDING.httpPost,
        location: 'https://idp-b.example.org/slo',
        responseLocation: 'https://idp-b.example.org/slo/response',
      });
      refusal(() => read(xml, 'https://sp.example.org/shibboleth'), /no identity provider role/);
      refusal(() => read(xml, 'https://nobody.example'), /no EntityDescriptor with entityID/, 'entityId');
    });
  });

  describe('refusals', () => {
    it('a root that is not SAML metadata', () => {
      refusal(() => read('<EntityDescriptor entityID="x"/>'), /not SAML 2.0 metadata.*no namespace/);
      refusal(() => read('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'), /not SAML 2.0 metadata/);
    });

    it('no IdP role, or an IdP role not for SAML 2.0', () => {
      refusal(() => read(entity('entityID="https://sp.example"', '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>')), /no identity provider role/);
      refusal(
        () => read(entity('entityID="https://idp.example"', `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol">${SSO_REDIRECT}</md:IDPSSODescriptor>`)),
        /not for the SAML 2.0 protocol/,
      );
    });

    it('validUntil in the past, on the entity, the role or the enclosing aggregate', () => {
      refusal(() => read(entity('entityID="https://idp.example" validUntil="2026-11-23T11:59:59Z"', IDP_ROLE)), /expired.*validUntil 2026-11-23T11:59:59.000Z/);
      refusal(
        () => read(entity('entityID="https://idp.example"', IDP_ROLE.replace('<md:IDPSSODescriptor ', '<md:IDPSSODescriptor validUntil="2020-01-01T00:00:00Z" '))),
        /expired/,
      );
      const agg = `<md:EntitiesDescriptor xmlns:md="${MD}" validUntil="2026-01-01T00:00:00Z">${entity('entityID="https://idp.example"', IDP_ROLE)}</md:EntitiesDescriptor>`;
      refusal(() => read(agg), /expired/);
      // Exactly now is expired too (validUntil is exclusive); a millisecond later is fine.
      refusal(() => read(entity(`entityID="https://idp.example" validUntil="${new Date(NOW).toISOString()}"`, IDP_ROLE)), /expired/);
      assert.equal(read(entity(`entityID="https://idp.example" validUntil="${new Date(NOW + 1).toISOString()}"`, IDP_ROLE)).validUntil, NOW + 1);
    });

    it('an expired IdP elsewhere in an aggregate does not stop importing a live one', () => {
      const agg =
        `<md:EntitiesDescriptor xmlns:md="${MD}">` +
        `<md:EntitiesDescriptor validUntil="2020-01-01T00:00:00Z">${entity('entityID="https://old.example"', IDP_ROLE)}</md:EntitiesDescriptor>` +
        `${entity('entityID="https://live.example"', IDP_ROLE)}</md:EntitiesDescriptor>`;
      assert.equal(read(agg).entityId, 'https://live.example', 'the only live IdP is chosen without entityId');
      refusal(() => read(agg, 'https://old.example'), /expired/);
    });

    it('no browser SSO binding; a malformed boolean, date or duration', () => {
      const artifactOnly = `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.example/soap"/></md:IDPSSODescriptor>`;
      refusal(() => idpSettingsFrom(read(entity('entityID="https://idp.example"', artifactOnly))), /no SingleSignOnService with the HTTP-Redirect or HTTP-POST/);
      refusal(() => read(entity('entityID="https://idp.example"', IDP_ROLE.replace('<md:IDPSSODescriptor ', '<md:IDPSSODescriptor WantAuthnRequestsSigned="yes" '))), /not a boolean/);
      refusal(() => read(entity('entityID="https://idp.example" validUntil="tomorrow"', IDP_ROLE)), /not an xs:dateTime/);
      refusal(() => read(entity('entityID="https://idp.example" cacheDuration="6 hours"', IDP_ROLE)), /not an xs:duration/);
      refusal(() => read(entity('', IDP_ROLE)), /no entityID/);
    });
  });

  it('xs:duration and xs:dateTime parsing', () => {
    assert.equal(parseXsDuration('PT6H'), 6 * 3600_000);
    assert.equal(parseXsDuration('P1D'), 86_400_000);
    assert.equal(parseXsDuration('P1DT30M'), 86_400_000 + 30 * 60_000);
    assert.equal(parseXsDuration('PT0.5S'), 500);
    assert.equal(parseXsDuration('-PT1H'), -3600_000);
    assert.equal(parseXsDuration('P1Y2M'), (365 + 60) * 86_400_000);
    for (const bad of ['P', 'PT', '6H', 'P1H', 'PT1D', '']) assert.throws(() => parseXsDuration(bad), MetadataInputError, bad);
    assert.equal(parseXsDateTime('2030-01-01T00:00:00', 'x'), Date.UTC(2030, 0, 1), 'no zone means UTC');
    assert.equal(parseXsDateTime('2030-01-01T01:00:00+01:00', 'x'), Date.UTC(2030, 0, 1));
  });

  it('a KeyDescriptor use="encryption" is never imported as a signing certificate; duplicates are read once', () => {
    const ki = (b64: string) => `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
    const role =
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<md:KeyDescriptor use="encryption">${ki('RU5D')}</md:KeyDescriptor>` +
      `<md:KeyDescriptor use="signing">${ki('U0lH')}</md:KeyDescriptor>` +
      `<md:KeyDescriptor>${ki('U0lH')}</md:KeyDescriptor>` +
      `<md:KeyDescriptor use="bogus">${ki('Qk9H')}</md:KeyDescriptor>` +
      `${SSO_REDIRECT}</md:IDPSSODescriptor>`;
    assert.deepEqual(read(entity('entityID="https://idp.example"', role)).signingCertificates, ['U0lH']);
  });
});
