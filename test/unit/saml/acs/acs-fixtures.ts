/**
 * Shared pieces of the ACS step tests: settings, a manual clock, an in-memory AcsStore whose
 * `atomically` rolls back like a database transaction, and crafted Assertions (string
 * templates, so a test can put any markup anywhere) branded as signed content the way the
 * verification steps would hand them on.
 */
import type { KeyObject } from 'node:crypto';
import { ManualClock } from '../../../../src/clock.js';
import type { AcsDeps, AcsSettings, AcsStore, VerifiedAssertion } from '../../../../src/saml/acs/context.js';
import { trustAsSigned } from '../../../../src/saml/acs/signed-element.js';
import { toSamlInstant } from '../../../../src/saml/authn-request.js';
import { NAME_ID_FORMAT_URN } from '../../../../src/saml/name-id-formats.js';
import { AUTHN_CONTEXT, NS, SUBJECT_CONFIRMATION_BEARER } from '../../../../src/saml/namespaces.js';
import { parseXmlStrict } from '../../../../src/xml/strict-parser.js';
import type { BuildResponseOptions } from '../../../support/test-idp.js';

export const ACS_URL = 'https://sp.fedbridge.test/sso/acme.example/saml/acs';
export const SP_ENTITY_ID = 'https://sp.fedbridge.test';
export const IDP_ENTITY_ID = 'https://idp.acme.example/saml';
export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
export const MINUTE = 60_000;
export const SKEW_MS = 180_000;

export const iso = (ms: number) => toSamlInstant(ms);

/** TestIdp options for a signed-Assertion Response that answers `_req1` at this SP's ACS. */
export function responseOptions(extra: Partial<BuildResponseOptions> = {}): BuildResponseOptions {
  return {
    now: NOW,
    destination: ACS_URL,
    recipient: ACS_URL,
    audience: SP_ENTITY_ID,
    nameId: 'jane@acme.example',
    inResponseTo: '_req1',
    signAssertion: true,
    signResponse: false,
    ...extra,
  };
}

export function settings(overrides: Partial<AcsSettings> = {}): AcsSettings {
  return {
    acsUrl: ACS_URL,
    spEntityId: SP_ENTITY_ID,
    idpEntityId: IDP_ENTITY_ID,
    nameIdFormat: 'unspecified',
    authnContextClassRef: null,
    idpInitiated: false,
    clockSkewSeconds: 180,
    allowSha1: false,
    ...overrides,
  };
}

/** An in-memory AcsStore with transactional `atomically`, and counters of key requests. */
export class FakeAcsBackend {
  /** Pending AuthnRequests: id → target. */
  readonly requests = new Map<string, { target: string | null; consumed: boolean; expiresAt: number }>();
  /** Consumed assertion ids → expiresAt. */
  readonly assertionIds = new Map<string, number>();
  keyRequests = { idp: 0, service: 0 };

  constructor(
    public idpKeys: KeyObject[] = [],
    public serviceKeys: KeyObject[] = [],
  ) {}

  addRequest(id: string, target: string | null = null, expiresAt = NOW + 10 * MINUTE): void {
    this.requests.set(id, { target, consumed: false, expiresAt });
  }

  deps(): AcsDeps {
    return {
      idpVerificationKeys: async () => {
        this.keyRequests.idp++;
        return this.idpKeys;
      },
      serviceDecryptionKeys: async () => {
        this.keyRequests.service++;
        return this.serviceKeys;
      },
      atomically: async (work) => {
        const requests = new Map([...this.requests].map(([k, v]) => [k, { ...v }]));
        const assertionIds = new Map(this.assertionIds);
        try {
          return await work(this.store());
        } catch (err) {
          // Roll back: restore what was there before the work began.
          this.requests.clear();
          for (const [k, v] of requests) this.requests.set(k, v);
          this.assertionIds.clear();
          for (const [k, v] of assertionIds) this.assertionIds.set(k, v);
          throw err;
        }
      },
    };
  }

  store(): AcsStore {
    return {
      consumeRequestId: async (id, now) => {
        const r = this.requests.get(id);
        if (!r || r.consumed || r.expiresAt <= now) return undefined;
        r.consumed = true;
        return { target: r.target };
      },
      rememberAssertionId: async (id, expiresAt, now) => {
        const seen = this.assertionIds.get(id);
        if (seen !== undefined && seen > now) return false;
        this.assertionIds.set(id, expiresAt);
        return true;
      },
    };
  }
}

export interface AssertionParts {
  id?: string;
  version?: string | null;
  /** Raw markup of the Issuer element(s); null leaves it out. */
  issuer?: string | null;
  /** Raw markup inside saml:Subject; null leaves the Subject out. */
  subject?: string | null;
  /** Raw markup of the Conditions element(s); null leaves them out. */
  conditions?: string | null;
  /** Raw markup of the AuthnStatement(s); null leaves it out. */
  authnStatement?: string | null;
  /** Raw markup of the AttributeStatement(s). */
  attributeStatement?: string;
}

export const defaultNameId = `<saml:NameID Format="${NAME_ID_FORMAT_URN.emailAddress}">jane@acme.example</saml:NameID>`;

export function confirmationData(attrs: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    InResponseTo: '_req1',
    NotOnOrAfter: iso(NOW + 5 * MINUTE),
    Recipient: ACS_URL,
    ...attrs,
  };
  const rendered = Object.entries(all)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return `<saml:SubjectConfirmationData${rendered}/>`;
}

export function bearer(data = confirmationData(), method = SUBJECT_CONFIRMATION_BEARER): string {
  return `<saml:SubjectConfirmation Method="${method}">${data}</saml:SubjectConfirmation>`;
}

export function conditions(
  opts: { notBefore?: number | null; notOnOrAfter?: number | null; audiences?: string[][] } = {},
): string {
  const nb = opts.notBefore === undefined ? NOW - MINUTE : opts.notBefore;
  const na = opts.notOnOrAfter === undefined ? NOW + 5 * MINUTE : opts.notOnOrAfter;
  const restrictions = (opts.audiences ?? [[SP_ENTITY_ID]])
    .map((list) => `<saml:AudienceRestriction>${list.map((a) => `<saml:Audience>${a}</saml:Audience>`).join('')}</saml:AudienceRestriction>`)
    .join('');
  return `<saml:Conditions${nb !== null ? ` NotBefore="${iso(nb)}"` : ''}${na !== null ? ` NotOnOrAfter="${iso(na)}"` : ''}>${restrictions}</saml:Conditions>`;
}

export function authnStatement(opts: { classRef?: string | null; sessionIndex?: string | null; sessionNotOnOrAfter?: number } = {}): string {
  const classRef = opts.classRef === undefined ? AUTHN_CONTEXT.passwordProtectedTransport : opts.classRef;
  const si = opts.sessionIndex === undefined ? '_s1' : opts.sessionIndex;
  return (
    `<saml:AuthnStatement AuthnInstant="${iso(NOW)}"${si !== null ? ` SessionIndex="${si}"` : ''}` +
    `${opts.sessionNotOnOrAfter !== undefined ? ` SessionNotOnOrAfter="${iso(opts.sessionNotOnOrAfter)}"` : ''}>` +
    (classRef !== null ? `<saml:AuthnContext><saml:AuthnContextClassRef>${classRef}</saml:AuthnContextClassRef></saml:AuthnContext>` : '') +
    `</saml:AuthnStatement>`
  );
}

export function assertionXml(parts: AssertionParts = {}): string {
  const version = parts.version === undefined ? '2.0' : parts.version;
  const issuer = parts.issuer === undefined ? `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>` : (parts.issuer ?? '');
  const subject = parts.subject === undefined ? `${defaultNameId}${bearer()}` : parts.subject;
  const cond = parts.conditions === undefined ? conditions() : (parts.conditions ?? '');
  const authn = parts.authnStatement === undefined ? authnStatement() : (parts.authnStatement ?? '');
  return (
    `<saml:Assertion xmlns:saml="${NS.saml}" xmlns:xsi="${NS.xsi}" xmlns:xs="${NS.xs}" ID="${parts.id ?? '_a1'}"` +
    `${version !== null ? ` Version="${version}"` : ''} IssueInstant="${iso(NOW)}">` +
    issuer +
    (subject !== null ? `<saml:Subject>${subject}</saml:Subject>` : '') +
    cond +
    authn +
    (parts.attributeStatement ?? '') +
    `</saml:Assertion>`
  );
}

/** A context as verify-assertion-signature hands it on, around a crafted assertion. */
export function verifiedContext(
  xml: string,
  opts: { settings?: Partial<AcsSettings>; backend?: FakeAcsBackend; clock?: ManualClock; responseInResponseTo?: string | null } = {},
): VerifiedAssertion {
  const root = parseXmlStrict(xml).documentElement!;
  return {
    settings: settings(opts.settings),
    deps: (opts.backend ?? new FakeAcsBackend()).deps(),
    clock: opts.clock ?? new ManualClock(NOW),
    assertion: trustAsSigned(root),
    assertionId: root.getAttribute('ID') ?? '',
    signedBy: { response: false, assertion: true },
    responseInResponseTo: opts.responseInResponseTo,
  };
}
