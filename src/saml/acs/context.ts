/**
 * The contexts the ACS steps pass along (R-SAML-3). Each step takes one and returns the next,
 * so the type of what a step may read says how far the Response got:
 *
 *   RawBody → DecodedBody → ParsedDocument → ReceivedResponse (the unverified root)
 *     → ResponseVerified (root re-parsed from its signature, when it had one)
 *     → AssertionDecrypted → AssertionSelected
 *     → VerifiedAssertion: a SignedElement and nothing else of the document
 *     → … fields read from the VerifiedAssertion only.
 *
 * From `VerifiedAssertion` on, no context holds the received document or an unsigned element,
 * so no later step can read unsigned content (ARCHITECTURE: "Read only what was signed").
 *
 * The pipeline is pure: storage and keys come in through `AcsDeps`, time through `clock`.
 */
import type { KeyObject } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import type { RawAttribute } from '../../accounts/attribute-mapper.js';
import type { Clock } from '../../clock.js';
import type { NameIdFormat } from '../name-id-formats.js';
import type { SignedElement } from './signed-element.js';

/** What the checks compare against: the org's configuration, resolved for this request. */
export interface AcsSettings {
  /** `${publicUrl}/sso/${slug}/saml/acs`: Destination and Recipient must equal it. */
  readonly acsUrl: string;
  /** Must be in every AudienceRestriction. */
  readonly spEntityId: string;
  /** Response and Assertion Issuer. */
  readonly idpEntityId: string;
  readonly nameIdFormat: NameIdFormat;
  /** When set, the AuthnStatement's AuthnContextClassRef must equal it. */
  readonly authnContextClassRef: string | null;
  /** Whether a Response without InResponseTo (IdP-initiated, R-SAML-4) is accepted. */
  readonly idpInitiated: boolean;
  readonly clockSkewSeconds: number;
  readonly allowSha1: boolean;
}

/** The two writes of the ACS, on one transaction (see AcsDeps.atomically). */
export interface AcsStore {
  /**
   * Consumes (single use, atomically) the org's stored AuthnRequest `id` unexpired at `now`;
   * undefined when unknown, of another org, expired, already used, or lost a race.
   */
  consumeRequestId(id: string, now: number): Promise<{ target: string | null } | undefined>;
  /** Records the assertion id until `expiresAt`; false when it was already recorded (a replay). */
  rememberAssertionId(id: string, expiresAt: number, now: number): Promise<boolean>;
}

/** The pipeline's I/O, injected by the flow (src/saml/sso-flow.ts) or by a test. */
export interface AcsDeps {
  /** The IdP keys to verify with (pinned org certificates); asked only when a signature is present. */
  idpVerificationKeys(): Promise<readonly KeyObject[]>;
  /** Every service private key of the org, active first; asked only when something is encrypted. */
  serviceDecryptionKeys(): Promise<readonly KeyObject[]>;
  /**
   * Runs `work` with an AcsStore on one database transaction: if `work` throws, nothing it
   * wrote stays (the transaction rolls back) and the error is rethrown.
   */
  atomically<T>(work: (store: AcsStore) => Promise<T>): Promise<T>;
}

export interface AcsBase {
  readonly settings: AcsSettings;
  readonly deps: AcsDeps;
  readonly clock: Clock;
}

/** The form field as Express parsed it: a string when well-formed, anything otherwise. */
export interface RawBody extends AcsBase {
  readonly samlResponse: unknown;
}

export interface DecodedBody extends AcsBase {
  readonly xml: Buffer;
}

export interface ParsedDocument extends AcsBase {
  readonly document: Document;
}

/** The received, not yet verified, samlp:Response root. Read only to refuse. */
export interface ReceivedResponse extends AcsBase {
  readonly response: Element;
}

/** An element, and whether a verified signature already covers it. */
export type Covered =
  | { readonly covered: true; readonly element: SignedElement }
  | { readonly covered: false; readonly element: Element };

export interface ResponseVerified extends AcsBase {
  /** The re-parsed signed Response when it carried a signature, else the received one. */
  readonly response: Covered;
}

export interface AssertionDecrypted extends ResponseVerified {
  /** The Assertion decrypted from the one EncryptedAssertion, or null when there was none. */
  readonly decrypted: Covered | null;
}

export interface AssertionSelected extends AcsBase {
  readonly response: Covered;
  /** The one Assertion of the Response (received or decrypted). */
  readonly assertion: Covered;
}

/**
 * The consumable assertion, read from signed content only. The received document is gone.
 */
export interface VerifiedAssertion extends AcsBase {
  readonly assertion: SignedElement;
  /** The assertion's ID (from the signed content). */
  readonly assertionId: string;
  /** Which signatures were verified (at least one is true). */
  readonly signedBy: { readonly response: boolean; readonly assertion: boolean };
  /**
   * The Response's InResponseTo when the Response itself was signed (null: absent); undefined
   * when the Response was not signed, since its attributes then mean nothing.
   */
  readonly responseInResponseTo: string | null | undefined;
}

export interface WithIssuer {
  readonly issuer: string;
}

export interface Subject {
  readonly nameId: string;
  /** The NameID Format URN as received; null when absent (= unspecified). */
  readonly format: string | null;
  readonly nameQualifier: string | null;
  readonly spNameQualifier: string | null;
  /** Whether it came from an EncryptedID. */
  readonly encrypted: boolean;
}

export interface WithSubject {
  readonly subject: Subject;
}

export interface WithConfirmation {
  readonly confirmation: {
    /** The AuthnRequest it answers; null for an IdP-initiated (unsolicited) Response. */
    readonly inResponseTo: string | null;
    readonly notOnOrAfter: number;
  };
}

export interface WithConditions {
  readonly conditions: { readonly notBefore: number | null; readonly notOnOrAfter: number | null };
}

export interface WithAuthnStatement {
  readonly authn: {
    readonly authnContextClassRef: string | null;
    readonly sessionIndex: string | null;
    readonly sessionNotOnOrAfter: number | undefined;
  };
}

export interface WithAttributes {
  readonly attributes: readonly RawAttribute[];
}

export interface WithRequest {
  /** The AuthnRequest consumed (SP-initiated), or null (IdP-initiated). */
  readonly solicited: { readonly requestId: string; readonly target: string | null } | null;
}

/** What the pipeline hands the flow: everything read from the verified assertion. */
export interface AcsOutcome {
  readonly assertionId: string;
  readonly issuer: string;
  readonly subject: Subject;
  readonly authn: WithAuthnStatement['authn'];
  readonly attributes: readonly RawAttribute[];
  readonly solicited: WithRequest['solicited'];
  readonly signedBy: VerifiedAssertion['signedBy'];
}

export function skewMs(settings: AcsSettings): number {
  return settings.clockSkewSeconds * 1000;
}

/** What the pipeline starts from. */
export type AcsInput = RawBody;
