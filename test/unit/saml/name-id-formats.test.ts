import assert from 'node:assert/strict';
import {
  CONFIGURABLE_NAME_ID_FORMATS,
  NAME_ID_FORMAT_URN,
  isNameIdFormat,
  nameIdFormatFromUrn,
  nameIdFormatMatches,
  nameIdFormatToUrn,
} from '../../../src/saml/name-id-formats.js';

describe('saml/name-id-formats', () => {
  it('maps every configurable name to its URN and back', () => {
    for (const name of CONFIGURABLE_NAME_ID_FORMATS) {
      assert.equal(nameIdFormatFromUrn(nameIdFormatToUrn(name)), name);
    }
    assert.equal(nameIdFormatToUrn('emailAddress'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(nameIdFormatToUrn('persistent'), 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
    assert.equal(nameIdFormatToUrn('x509SubjectName'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName');
  });

  it('knows transient for parsing but does not make it configurable', () => {
    assert.equal(nameIdFormatFromUrn(NAME_ID_FORMAT_URN.transient), 'transient');
    assert.equal(isNameIdFormat('transient'), false);
    assert.equal(isNameIdFormat('emailAddress'), true);
    assert.equal(isNameIdFormat('EmailAddress'), false);
  });

  it('compares URNs exactly', () => {
    assert.equal(nameIdFormatFromUrn('urn:oasis:names:tc:SAML:1.1:nameid-format:emailaddress'), undefined);
    assert.equal(nameIdFormatFromUrn('urn:oasis:names:tc:SAML:2.0:nameid-format:emailAddress'), undefined);
  });

  it('matches a received Format against the configured one', () => {
    assert.equal(nameIdFormatMatches('unspecified', NAME_ID_FORMAT_URN.transient), true);
    assert.equal(nameIdFormatMatches('emailAddress', NAME_ID_FORMAT_URN.emailAddress), true);
    assert.equal(nameIdFormatMatches('emailAddress', NAME_ID_FORMAT_URN.persistent), false);
    // An absent Format is `unspecified` (saml-core §2.2.2), which satisfies only `unspecified`.
    assert.equal(nameIdFormatMatches('emailAddress', undefined), false);
    assert.equal(nameIdFormatMatches('unspecified', null), true);
  });
});
