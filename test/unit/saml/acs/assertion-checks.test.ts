/**
 * The checks of the signed Assertion (R-SAML-3 rules 6–9): check-assertion-issuer,
 * read-subject, check-subject-confirmation, check-conditions, check-audience,
 * check-authn-statement, read-attributes. Table-driven over crafted Assertions (acs-fixtures),
 * each case one rule broken; the clock is fixed and the skew is the default 180 s.
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/clock.js';
import { checkAssertionIssuer } from '../../../../src/saml/acs/check-assertion-issuer.js';
import { checkAudience } from '../../../../src/saml/acs/check-audience.js';
import { checkAuthnStatement } from '../../../../src/saml/acs/check-authn-statement.js';
import { checkConditions } from '../../../../src/saml/acs/check-conditions.js';
import { checkSubjectConfirmation } from '../../../../src/saml/acs/check-subject-confirmation.js';
import type { AcsSettings, VerifiedAssertion } from '../../../../src/saml/acs/context.js';
import { readAttributes } from '../../../../src/saml/acs/read-attributes.js';
import { readSubject } from '../../../../src/saml/acs/read-subject.js';
import { NAME_ID_FORMAT_URN } from '../../../../src/saml/name-id-formats.js';
import { AUTHN_CONTEXT, NS, SUBJECT_CONFIRMATION_BEARER } from '../../../../src/saml/namespaces.js';
import { SsoError, type SsoErrorCode } from '../../../../src/saml/sso-error.js';
import { encryptElement, generateTestKeyPair } from '../../../support/test-idp.js';
import {
  ACS_URL,
  FakeAcsBackend,
  IDP_ENTITY_ID,
  MINUTE,
  NOW,
  SKEW_MS,
  SP_ENTITY_ID,
  assertionXml,
  authnStatement,
  bearer,
  conditions,
  confirmationData,
  defaultNameId,
  iso,
  verifiedContext,
  type AssertionParts,
} from './acs-fixtures.js';

type Step = (ctx: VerifiedAssertion) => unknown;

interface Case {
  name: string;
  parts?: AssertionParts;
  settings?: Partial<AcsSettings>;
  /** Clock offset from NOW. */
  at?: number;
  responseInResponseTo?: string | null;
  refused?: SsoErrorCode;
}

function table(step: Step, cases: Case[]): void {
  for (const c of cases) {
    it(`${c.refused ? `refuses [${c.refused}]` : 'accepts'}: ${c.name}`, async () => {
      const ctx = verifiedContext(assertionXml(c.parts), {
        ...(c.settings ? { settings: c.settings } : {}),
        clock: new ManualClock(NOW + (c.at ?? 0)),
        ...(c.responseInResponseTo !== undefined ? { responseInResponseTo: c.responseInResponseTo } : {}),
      });
      const run = async () => step(ctx);
      if (c.refused) {
        await assert.rejects(run, (err: unknown) => {
          assert.ok(err instanceof SsoError, String(err));
          assert.equal(err.code, c.refused, err.reason);
          return true;
        });
      } else {
        await run();
      }
    });
  }
}

describe('ACS checks of the signed Assertion', function () {
  this.timeout(20_000);

  describe('check-assertion-issuer', () => {
    table(checkAssertionIssuer, [
      { name: 'the configured IdP' },
      { name: 'an entity Format', parts: { issuer: `<saml:Issuer Format="${NAME_ID_FORMAT_URN.entity}">${IDP_ENTITY_ID}</saml:Issuer>` } },
      { name: 'no Issuer (mandatory on an Assertion)', parts: { issuer: null }, refused: 'SSO_ISSUER' },
      { name: 'another issuer', parts: { issuer: '<saml:Issuer>https://evil.example/idp</saml:Issuer>' }, refused: 'SSO_ISSUER' },
      { name: 'an issuer in another namespace only', parts: { issuer: `<e:Issuer xmlns:e="urn:evil">${IDP_ENTITY_ID}</e:Issuer>` }, refused: 'SSO_ISSUER' },
      { name: 'two Issuers', parts: { issuer: `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>`.repeat(2) }, refused: 'SSO_ISSUER' },
      { name: 'a transient Format', parts: { issuer: `<saml:Issuer Format="${NAME_ID_FORMAT_URN.transient}">${IDP_ENTITY_ID}</saml:Issuer>` }, refused: 'SSO_ISSUER' },
    ]);
    it('returns the issuer', () => {
      assert.equal(checkAssertionIssuer(verifiedContext(assertionXml())).issuer, IDP_ENTITY_ID);
    });
  });

  describe('read-subject', () => {
    const conf = bearer();
    table(readSubject, [
      { name: 'an emailAddress NameID with unspecified configured' },
      { name: 'a NameID without Format with unspecified configured', parts: { subject: `<saml:NameID>jane</saml:NameID>${conf}` } },
      { name: 'a transient NameID with unspecified configured', parts: { subject: `<saml:NameID Format="${NAME_ID_FORMAT_URN.transient}">_x</saml:NameID>${conf}` } },
      { name: 'an emailAddress NameID with emailAddress configured', settings: { nameIdFormat: 'emailAddress' } },
      { name: 'a persistent NameID with emailAddress configured', settings: { nameIdFormat: 'emailAddress' }, parts: { subject: `<saml:NameID Format="${NAME_ID_FORMAT_URN.persistent}">abc</saml:NameID>${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'no Format (= unspecified) with emailAddress configured', settings: { nameIdFormat: 'emailAddress' }, parts: { subject: `<saml:NameID>jane@acme.example</saml:NameID>${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'no Subject', parts: { subject: null }, refused: 'SSO_NAMEID' },
      { name: 'no NameID', parts: { subject: conf }, refused: 'SSO_NAMEID' },
      { name: 'two NameIDs', parts: { subject: `${defaultNameId}${defaultNameId}${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'an empty NameID', parts: { subject: `<saml:NameID>  </saml:NameID>${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'a BaseID', parts: { subject: `<saml:BaseID xmlns:xsi="${NS.xsi}" xsi:type="x"/>${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'a NameID in another namespace only', parts: { subject: `<e:NameID xmlns:e="urn:evil">jane</e:NameID>${conf}` }, refused: 'SSO_NAMEID' },
      { name: 'an overlong NameID', parts: { subject: `<saml:NameID>${'a'.repeat(1025)}</saml:NameID>${conf}` }, refused: 'SSO_NAMEID' },
    ]);

    it('reads the value (trimmed), Format and qualifiers', async () => {
      const subject = `<saml:NameID Format="${NAME_ID_FORMAT_URN.persistent}" NameQualifier="idp" SPNameQualifier="sp">\n  abc-123 \n</saml:NameID>${conf}`;
      const { subject: s } = await readSubject(verifiedContext(assertionXml({ subject })));
      assert.deepEqual(s, { nameId: 'abc-123', format: NAME_ID_FORMAT_URN.persistent, nameQualifier: 'idp', spNameQualifier: 'sp', encrypted: false });
    });

    it('decrypts an EncryptedID with the service keys (any of them), and refuses one for another key [SSO_DECRYPT]', async () => {
      const sp = generateTestKeyPair({ commonName: 'sp' });
      const other = generateTestKeyPair({ commonName: 'other' });
      const encrypted = await encryptElement(
        `<saml:NameID xmlns:saml="${NS.saml}" Format="${NAME_ID_FORMAT_URN.emailAddress}">secret@acme.example</saml:NameID>`,
        'EncryptedID',
        { certPem: sp.certPem },
      );
      const xml = assertionXml({ subject: `${encrypted}${conf}` });
      const backend = new FakeAcsBackend([], [other.privateKey, sp.privateKey]);
      const { subject } = await readSubject(verifiedContext(xml, { backend, settings: { nameIdFormat: 'emailAddress' } }));
      assert.equal(subject.nameId, 'secret@acme.example');
      assert.equal(subject.encrypted, true);
      await assert.rejects(readSubject(verifiedContext(xml, { backend: new FakeAcsBackend([], [other.privateKey]) })), (e: SsoError) => e.code === 'SSO_DECRYPT');
    });

    it('refuses an EncryptedID that is not a NameID, and a NameID next to an EncryptedID [SSO_NAMEID]', async () => {
      const sp = generateTestKeyPair({ commonName: 'sp' });
      const backend = new FakeAcsBackend([], [sp.privateKey]);
      const notNameId = await encryptElement(`<saml:Issuer xmlns:saml="${NS.saml}">x</saml:Issuer>`, 'EncryptedID', { certPem: sp.certPem });
      await assert.rejects(readSubject(verifiedContext(assertionXml({ subject: `${notNameId}${conf}` }), { backend })), (e: SsoError) => e.code === 'SSO_NAMEID');
      const both = await encryptElement(`<saml:NameID xmlns:saml="${NS.saml}">y</saml:NameID>`, 'EncryptedID', { certPem: sp.certPem });
      await assert.rejects(readSubject(verifiedContext(assertionXml({ subject: `${defaultNameId}${both}${conf}` }), { backend })), (e: SsoError) => e.code === 'SSO_NAMEID');
    });
  });

  describe('check-subject-confirmation', () => {
    const subj = (...confirmations: string[]) => ({ subject: `${defaultNameId}${confirmations.join('')}` });
    table(checkSubjectConfirmation, [
      { name: 'a bearer confirmation answering a request' },
      { name: 'NotOnOrAfter passed, within the skew', at: 5 * MINUTE + SKEW_MS - 1000 },
      { name: 'NotOnOrAfter passed beyond the skew', at: 5 * MINUTE + SKEW_MS, refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'no SubjectConfirmation', parts: subj(), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'holder-of-key only', parts: subj(bearer(confirmationData(), 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key')), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'bearer without SubjectConfirmationData', parts: subj(`<saml:SubjectConfirmation Method="${SUBJECT_CONFIRMATION_BEARER}"/>`), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'two SubjectConfirmationData in one confirmation', parts: subj(`<saml:SubjectConfirmation Method="${SUBJECT_CONFIRMATION_BEARER}">${confirmationData()}${confirmationData()}</saml:SubjectConfirmation>`), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'no Recipient', parts: subj(bearer(confirmationData({ Recipient: null }))), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'another Recipient', parts: subj(bearer(confirmationData({ Recipient: `${ACS_URL}x` }))), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'no NotOnOrAfter', parts: subj(bearer(confirmationData({ NotOnOrAfter: null }))), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'a NotOnOrAfter that is not a time', parts: subj(bearer(confirmationData({ NotOnOrAfter: 'tomorrow' }))), refused: 'SSO_MALFORMED' },
      { name: 'a NotBefore beyond the skew', parts: subj(bearer(confirmationData({ NotBefore: iso(NOW + SKEW_MS + 1000) }))), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'a NotBefore within the skew', parts: subj(bearer(confirmationData({ NotBefore: iso(NOW + SKEW_MS - 1000) }))) },
      { name: 'an empty InResponseTo', parts: subj(bearer(confirmationData({ InResponseTo: '' }))), refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'no InResponseTo while IdP-initiated is off', parts: subj(bearer(confirmationData({ InResponseTo: null }))), refused: 'SSO_UNSOLICITED' },
      { name: 'no InResponseTo while IdP-initiated is on', settings: { idpInitiated: true }, parts: subj(bearer(confirmationData({ InResponseTo: null }))) },
      { name: 'a signed Response answering another request', responseInResponseTo: '_other', refused: 'SSO_SUBJECT_CONFIRMATION' },
      { name: 'a signed Response answering the same request', responseInResponseTo: '_req1' },
      { name: 'a signed Response without InResponseTo', responseInResponseTo: null },
      {
        name: 'a signed Response answering a request, unsolicited confirmation, IdP-initiated on',
        settings: { idpInitiated: true },
        responseInResponseTo: '_req1',
        parts: subj(bearer(confirmationData({ InResponseTo: null }))),
        refused: 'SSO_SUBJECT_CONFIRMATION',
      },
      {
        name: 'a bad bearer confirmation followed by a good one',
        parts: subj(bearer(confirmationData({ Recipient: 'https://elsewhere.example/acs' })), bearer()),
      },
    ]);

    it('reads InResponseTo and NotOnOrAfter of the confirmation that satisfied every rule', () => {
      const xml = assertionXml({
        subject: `${defaultNameId}${bearer(confirmationData({ Recipient: 'https://x.example', InResponseTo: '_bad' }))}${bearer(confirmationData({ InResponseTo: '_good' }))}`,
      });
      const { confirmation } = checkSubjectConfirmation(verifiedContext(xml));
      assert.deepEqual(confirmation, { inResponseTo: '_good', notOnOrAfter: NOW + 5 * MINUTE });
    });
  });

  describe('check-conditions', () => {
    table(checkConditions, [
      { name: 'within NotBefore/NotOnOrAfter' },
      { name: 'no Conditions at all (the audience rule refuses that)', parts: { conditions: null } },
      { name: 'NotBefore ahead within the skew', parts: { conditions: conditions({ notBefore: NOW + SKEW_MS - 1000 }) } },
      { name: 'NotBefore ahead beyond the skew', parts: { conditions: conditions({ notBefore: NOW + SKEW_MS + 1000 }) }, refused: 'SSO_EXPIRED' },
      { name: 'NotOnOrAfter passed within the skew', at: 5 * MINUTE + SKEW_MS - 1 },
      { name: 'NotOnOrAfter passed by exactly the skew', at: 5 * MINUTE + SKEW_MS, refused: 'SSO_EXPIRED' },
      { name: 'zero skew: NotOnOrAfter is exclusive', settings: { clockSkewSeconds: 0 }, at: 5 * MINUTE, refused: 'SSO_EXPIRED' },
      { name: 'zero skew: NotBefore is inclusive', settings: { clockSkewSeconds: 0 }, parts: { conditions: conditions({ notBefore: NOW }) } },
      { name: 'a NotOnOrAfter that is not a time', parts: { conditions: '<saml:Conditions NotOnOrAfter="2026-13-01T00:00:00Z"/>' }, refused: 'SSO_MALFORMED' },
      { name: 'two Conditions', parts: { conditions: conditions() + conditions() }, refused: 'SSO_MALFORMED' },
    ]);
  });

  describe('check-audience', () => {
    table(checkAudience, [
      { name: 'our entity id' },
      { name: 'our entity id among others', parts: { conditions: conditions({ audiences: [['https://other.example', SP_ENTITY_ID]] }) } },
      { name: 'no Conditions', parts: { conditions: null }, refused: 'SSO_AUDIENCE' },
      { name: 'no AudienceRestriction', parts: { conditions: conditions({ audiences: [] }) }, refused: 'SSO_AUDIENCE' },
      { name: 'an empty AudienceRestriction', parts: { conditions: conditions({ audiences: [[]] }) }, refused: 'SSO_AUDIENCE' },
      { name: 'another SP only', parts: { conditions: conditions({ audiences: [['https://other.example']] }) }, refused: 'SSO_AUDIENCE' },
      { name: 'a second restriction without us (each must hold)', parts: { conditions: conditions({ audiences: [[SP_ENTITY_ID], ['https://other.example']] }) }, refused: 'SSO_AUDIENCE' },
      { name: 'a prefix of our entity id', parts: { conditions: conditions({ audiences: [[`${SP_ENTITY_ID}/`]] }) }, refused: 'SSO_AUDIENCE' },
    ]);
  });

  describe('check-authn-statement', () => {
    const x509 = { authnContextClassRef: AUTHN_CONTEXT.x509 };
    table(checkAuthnStatement, [
      { name: 'any class when none is configured' },
      { name: 'no AuthnContext when none is configured', parts: { authnStatement: authnStatement({ classRef: null }) } },
      { name: 'no AuthnStatement', parts: { authnStatement: null }, refused: 'SSO_AUTHN_CONTEXT' },
      { name: 'the configured class', settings: x509, parts: { authnStatement: authnStatement({ classRef: AUTHN_CONTEXT.x509 }) } },
      { name: 'another class than the configured one', settings: x509, refused: 'SSO_AUTHN_CONTEXT' },
      { name: 'no class when one is configured', settings: x509, parts: { authnStatement: authnStatement({ classRef: null }) }, refused: 'SSO_AUTHN_CONTEXT' },
      { name: 'an IdP session already over', parts: { authnStatement: authnStatement({ sessionNotOnOrAfter: NOW }) }, refused: 'SSO_EXPIRED' },
    ]);

    it('reads SessionIndex and SessionNotOnOrAfter', () => {
      const ctx = verifiedContext(assertionXml({ authnStatement: authnStatement({ sessionIndex: '_idx', sessionNotOnOrAfter: NOW + 3600_000 }) }));
      assert.deepEqual(checkAuthnStatement(ctx).authn, {
        authnContextClassRef: AUTHN_CONTEXT.passwordProtectedTransport,
        sessionIndex: '_idx',
        sessionNotOnOrAfter: NOW + 3600_000,
      });
      const none = checkAuthnStatement(verifiedContext(assertionXml({ authnStatement: authnStatement({ sessionIndex: null }) }))).authn;
      assert.equal(none.sessionIndex, null);
      assert.equal(none.sessionNotOnOrAfter, undefined);
    });
  });

  describe('read-attributes', () => {
    it('reads every Attribute of every AttributeStatement, values as text, xsi:nil values left out', () => {
      const statement = (inner: string) => `<saml:AttributeStatement>${inner}</saml:AttributeStatement>`;
      const value = (v: string) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`;
      const xml = assertionXml({
        attributeStatement:
          statement(
            `<saml:Attribute Name="email">${value('jane@acme.example')}</saml:Attribute>` +
              `<saml:Attribute Name="groups">${value('a')}${value(' b ')}<saml:AttributeValue xsi:nil="true"/></saml:Attribute>` +
              `<saml:Attribute>${value('nameless')}</saml:Attribute>` +
              `<e:Attribute xmlns:e="urn:evil" Name="uid">${value('evil')}</e:Attribute>`,
          ) + statement(`<saml:Attribute Name="uid">${value('ja<!-- c -->ne')}<saml:AttributeValue/></saml:Attribute>`),
      });
      const { attributes } = readAttributes(verifiedContext(xml));
      assert.deepEqual(attributes, [
        { name: 'email', values: ['jane@acme.example'] },
        { name: 'groups', values: ['a', ' b '] },
        { name: 'uid', values: ['jane', ''] },
      ]);
    });

    it('reads none when there is no AttributeStatement', () => {
      assert.deepEqual(readAttributes(verifiedContext(assertionXml())).attributes, []);
    });
  });
});
