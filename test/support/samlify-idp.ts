/**
 * samlify (2.13) as an independent IdP for tests. samlify insists on a schema validator
 * before it parses anything: this one only checks well-formedness with @xmldom/xmldom (no
 * XSD), since what is under test is the bridge accepting samlify's messages and samlify
 * parsing ours. samlify writes its instants from new Date(), so suites using it run the app
 * with a ManualClock at the real time.
 */
import { randomUUID } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import * as samlify from 'samlify';
import { NAME_ID_FORMAT_URN } from '../../src/saml/name-id-formats.js';
import type { NameIdFormat } from '../../src/saml/name-id-formats.js';
import { ManualClock } from '../../src/clock.js';
import type { TestEngine } from './databases.js';
import { startSamlScenario, type SamlScenario } from './saml-scenario.js';
import { generateTestKeyPair, type TestKeyPair } from './test-idp.js';

export const IDP_ENTITY_ID = 'https://samlify-idp.example/metadata';
export const IDP_SSO_URL = 'https://samlify-idp.example/sso';
export const BINDING = samlify.Constants.namespace.binding;
export const PASSWORD_PROTECTED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

samlify.setSchemaValidator({
  // Permissive: well-formed XML parsed by @xmldom/xmldom is enough (no XSD).
  validate: async (xml: string) => {
    let problem: string | undefined;
    new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') problem ??= message;
      },
    }).parseFromString(xml, 'text/xml');
    if (problem !== undefined) throw new Error(`not well-formed: ${problem}`);
    return 'well-formed (permissive validator, no XSD)';
  },
});

/** samlify's default Response template with an AuthnStatement (its default leaves it empty). */
const RESPONSE_TEMPLATE = samlify.SamlLib.defaultLoginResponseTemplate.context!.replace(
  '{AuthnStatement}',
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>' +
    '<saml:AuthnContextClassRef>{AuthnContextClassRef}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
);

const ATTRIBUTES = ['uid', 'email', 'firstname', 'lastname'].map((name) => ({
  name,
  valueTag: name,
  nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  valueXsiType: 'xs:string',
}));

export interface IdpUser {
  nameId: string;
  uid: string;
  email: string;
}

export interface IdpOptions {
  nameIdFormat?: NameIdFormat;
  encrypt?: boolean;
  /** samlify's content encryption algorithm; its default is AES-256-CBC. */
  dataEncryptionAlgorithm?: string;
  wantAuthnRequestsSigned?: boolean;
  tagPrefix?: { protocol?: string; assertion?: string };
}

export function samlifyIdp(key: TestKeyPair, opts: IdpOptions = {}) {
  return samlify.IdentityProvider({
    entityID: IDP_ENTITY_ID,
    privateKey: key.privateKeyPem,
    signingCert: key.certPem,
    nameIDFormat: [NAME_ID_FORMAT_URN[opts.nameIdFormat ?? 'unspecified']],
    singleSignOnService: [
      { Binding: BINDING.redirect, Location: IDP_SSO_URL },
      { Binding: BINDING.post, Location: IDP_SSO_URL },
    ],
    singleLogoutService: [{ Binding: BINDING.redirect, Location: `${IDP_SSO_URL}/logout` }],
    isAssertionEncrypted: opts.encrypt ?? false,
    // Not in samlify's settings type, but read from the entity settings by its encryptAssertion.
    ...(opts.dataEncryptionAlgorithm ? ({ dataEncryptionAlgorithm: opts.dataEncryptionAlgorithm } as object) : {}),
    wantAuthnRequestsSigned: opts.wantAuthnRequestsSigned ?? false,
    loginResponseTemplate: { context: RESPONSE_TEMPLATE, attributes: ATTRIBUTES },
    ...(opts.tagPrefix ? { tagPrefix: opts.tagPrefix } : {}),
  });
}

/** samlify's model of the bridge, as the IdP's administrator would configure it. */
export function bridgeAsSp(s: SamlScenario, opts: { wantAssertionsSigned: boolean; wantMessageSigned: boolean; authnRequestsSigned?: boolean }) {
  return samlify.ServiceProvider({
    entityID: s.spEntityId,
    assertionConsumerService: [{ Binding: BINDING.post, Location: s.acsUrl }],
    wantAssertionsSigned: opts.wantAssertionsSigned,
    wantMessageSigned: opts.wantMessageSigned,
    authnRequestsSigned: opts.authnRequestsSigned ?? false,
    signingCert: s.serviceCertPem,
    encryptCert: s.serviceCertPem,
  });
}


/** The documented samlify way to fill a Response template (customTagReplacement). */
export function fillResponseTemplate(
  idp: ReturnType<typeof samlifyIdp>,
  s: SamlScenario,
  user: IdpUser & { firstname?: string; lastname?: string },
  inResponseTo: string | undefined,
) {
  return (template: string) => {
    const id = `_${randomUUID()}`;
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60_000).toISOString();
    const format = idp.entitySetting.nameIDFormat;
    const values = {
      ID: id,
      AssertionID: `_${randomUUID()}`,
      Destination: s.acsUrl,
      Audience: s.spEntityId,
      EntityID: s.spEntityId,
      SubjectRecipient: s.acsUrl,
      Issuer: idp.entityMeta.getEntityID(),
      IssueInstant: now.toISOString(),
      AssertionConsumerServiceURL: s.acsUrl,
      StatusCode: samlify.Constants.StatusCode.Success,
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later,
      SubjectConfirmationDataNotOnOrAfter: later,
      NameIDFormat: Array.isArray(format) ? format[0] : format,
      NameID: user.nameId,
      // null drops the attribute (IdP-initiated: no InResponseTo at all).
      InResponseTo: inResponseTo ?? null,
      SessionIndex: `_${randomUUID()}`,
      AuthnContextClassRef: PASSWORD_PROTECTED,
      attrUid: user.uid,
      attrEmail: user.email,
      attrFirstname: user.firstname ?? 'Interop',
      attrLastname: user.lastname ?? user.uid,
    };
    return { id, context: samlify.SamlLib.replaceTagsByValue(template, values) };
  };
}

/** A sign-in scenario whose org trusts a fresh samlify IdP key, with the app's clock at the real time. */
export async function startSamlifyScenario(
  engine: TestEngine,
  sso: Record<string, unknown>,
): Promise<{ s: SamlScenario; key: TestKeyPair }> {
  const key = generateTestKeyPair({ commonName: 'samlify-idp' });
  const s = await startSamlScenario({
    engine,
    clock: new ManualClock(Date.now()),
    idpCertPem: key.certPem,
    idpEntityId: IDP_ENTITY_ID,
    sso: { ssoLoginUrl: IDP_SSO_URL, ...sso },
  });
  return { s, key };
}
