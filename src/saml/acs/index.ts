/**
 * The Assertion Consumer Service as a list of named checks (R-SAML-3). Each step is one file
 * that opens with the rule it enforces; each takes the context and returns an enriched one,
 * or throws `SsoError(code, reason)`. A new rule is a new file and a new line here.
 *
 * Order, and why:
 *  1. Cheap refusals on the received message (decode, parse, envelope, status, destination,
 *     response issuer). They only ever refuse, so reading unsigned values is harmless here.
 *  2. verify-response-signature before decrypt-assertion: ciphertext of a signed Response is
 *     authenticated before it is decrypted (AES-CBC alone would be a padding oracle).
 *  3. verify-assertion-signature ends the unsigned part: its result holds the signed
 *     Assertion and nothing else, so steps 4 can only read signed content (by type, see
 *     context.ts).
 *  4. Checks of the signed content — pure, no writes.
 *  5. Only then the two writes, on ONE transaction (deps.atomically), so that whichever
 *     refuses, the other is undone and a refused Response leaves nothing behind:
 *     - consume-assertion-id first: a replayed Response is refused before its AuthnRequest
 *       is even looked at (SSO_REPLAY, not "request already used"), and the request id of a
 *       new sign-in that carries a replayed assertion stays usable.
 *     - consume-request-id last: nothing in the pipeline can refuse after it, so a refused
 *       Response never burns a pending AuthnRequest; and when it refuses (unknown, foreign,
 *       expired or used id), the assertion id recorded just before is rolled back.
 *     Both writes are single statements whose uniqueness the database enforces, so two
 *     instances racing on one Response cannot both win.
 */
import { checkAssertionIssuer } from './check-assertion-issuer.js';
import { checkAudience } from './check-audience.js';
import { checkAuthnStatement } from './check-authn-statement.js';
import { checkConditions } from './check-conditions.js';
import { checkDestination } from './check-destination.js';
import { checkEnvelope } from './check-envelope.js';
import { checkResponseIssuer } from './check-response-issuer.js';
import { checkStatus } from './check-status.js';
import { checkSubjectConfirmation } from './check-subject-confirmation.js';
import { consumeAssertionId } from './consume-assertion-id.js';
import { consumeRequestId } from './consume-request-id.js';
import type { AcsOutcome, RawBody } from './context.js';
import { decodeBody } from './decode-body.js';
import { decryptAssertion } from './decrypt-assertion.js';
import { parseXml } from './parse-xml.js';
import { readAttributes } from './read-attributes.js';
import { readSubject } from './read-subject.js';
import { selectAssertion } from './select-assertion.js';
import { verifyAssertionSignature } from './verify-assertion-signature.js';
import { verifyResponseSignature } from './verify-response-signature.js';

export type { AcsDeps, AcsInput, AcsOutcome, AcsSettings, AcsStore } from './context.js';

/** The step names in the order they run (for documentation and tests). */
export const ACS_STEPS = [
  'decode-body',
  'parse-xml',
  'check-envelope',
  'check-status',
  'check-destination',
  'check-response-issuer',
  'verify-response-signature',
  'decrypt-assertion',
  'select-assertion',
  'verify-assertion-signature',
  'check-assertion-issuer',
  'read-subject',
  'check-subject-confirmation',
  'check-conditions',
  'check-audience',
  'check-authn-statement',
  'read-attributes',
  'consume-assertion-id',
  'consume-request-id',
] as const;

/**
 * Runs every check of R-SAML-3 on a posted SAMLResponse. Resolves with what the verified
 * assertion says; rejects with an SsoError naming the first rule broken.
 */
export async function runAcsPipeline(input: RawBody): Promise<AcsOutcome> {
  // 1. the received message
  const decoded = decodeBody(input);
  const parsed = parseXml(decoded);
  let received = checkEnvelope(parsed);
  received = checkStatus(received);
  received = checkDestination(received);
  received = checkResponseIssuer(received);
  // 2. signature of the Response, then decryption
  const response = await verifyResponseSignature(received);
  const decrypted = await decryptAssertion(response);
  const selected = selectAssertion(decrypted);
  // 3. from here on: signed content only
  const verified = await verifyAssertionSignature(selected);
  // 4. checks of the signed content
  const issued = checkAssertionIssuer(verified);
  const subject = await readSubject(issued);
  const confirmed = checkSubjectConfirmation(subject);
  const timely = checkConditions(confirmed);
  const addressed = checkAudience(timely);
  const authenticated = checkAuthnStatement(addressed);
  const complete = readAttributes(authenticated);
  // 5. the writes, last
  const done = await input.deps.atomically(async (store) => {
    const fresh = await consumeAssertionId(complete, store);
    return consumeRequestId(fresh, store);
  });

  return {
    assertionId: done.assertionId,
    issuer: done.issuer,
    subject: done.subject,
    authn: done.authn,
    attributes: done.attributes,
    solicited: done.solicited,
    signedBy: done.signedBy,
  };
}
