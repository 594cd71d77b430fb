/**
 * The two writes of the ACS (R-SAML-3 [SSO_REPLAY], [SSO_SUBJECT_CONFIRMATION]):
 * consume-assertion-id and consume-request-id, and how the pipeline runs them on one
 * transaction so that a refusal by either leaves neither behind (index.ts explains the order).
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/clock.js';
import { checkConditions } from '../../../../src/saml/acs/check-conditions.js';
import { checkSubjectConfirmation } from '../../../../src/saml/acs/check-subject-confirmation.js';
import { consumeAssertionId } from '../../../../src/saml/acs/consume-assertion-id.js';
import { consumeRequestId } from '../../../../src/saml/acs/consume-request-id.js';
import { SsoError } from '../../../../src/saml/sso-error.js';
import {
  FakeAcsBackend,
  MINUTE,
  NOW,
  SKEW_MS,
  assertionXml,
  bearer,
  conditions,
  confirmationData,
  defaultNameId,
  iso,
  verifiedContext,
} from './acs-fixtures.js';

function readyContext(backend: FakeAcsBackend, opts: { inResponseTo?: string | null; idpInitiated?: boolean; clock?: ManualClock; xml?: string } = {}) {
  const data = confirmationData({ InResponseTo: opts.inResponseTo === undefined ? '_req1' : opts.inResponseTo });
  const xml = opts.xml ?? assertionXml({ subject: `${defaultNameId}${bearer(data)}` });
  return checkConditions(
    checkSubjectConfirmation(
      verifiedContext(xml, { backend, settings: { idpInitiated: opts.idpInitiated ?? false }, clock: opts.clock ?? new ManualClock(NOW) }),
    ),
  );
}

describe('ACS consume-assertion-id', () => {
  it('records the id until the latest NotOnOrAfter plus the skew, and refuses it a second time [SSO_REPLAY]', async () => {
    const backend = new FakeAcsBackend();
    const xml = assertionXml({
      subject: `${defaultNameId}${bearer(confirmationData({ NotOnOrAfter: iso(NOW + 2 * MINUTE) }))}`,
      conditions: conditions({ notOnOrAfter: NOW + 7 * MINUTE }),
    });
    const ctx = readyContext(backend, { xml });
    await consumeAssertionId(ctx, backend.store());
    assert.equal(backend.assertionIds.get('_a1'), NOW + 7 * MINUTE + SKEW_MS);
    await assert.rejects(consumeAssertionId(ctx, backend.store()), (e: SsoError) => e.code === 'SSO_REPLAY');
  });

  it('uses the SubjectConfirmationData NotOnOrAfter when there are no Conditions', async () => {
    const backend = new FakeAcsBackend();
    const ctx = readyContext(backend, { xml: assertionXml({ conditions: null }) });
    await consumeAssertionId(ctx, backend.store());
    assert.equal(backend.assertionIds.get('_a1'), NOW + 5 * MINUTE + SKEW_MS);
  });
});

describe('ACS consume-request-id', () => {
  it('consumes a pending request once and returns its target; the second time refuses [SSO_SUBJECT_CONFIRMATION]', async () => {
    const backend = new FakeAcsBackend();
    backend.addRequest('_req1', 'https://app.acme.example/x');
    const ctx = readyContext(backend);
    assert.deepEqual((await consumeRequestId(ctx, backend.store())).solicited, { requestId: '_req1', target: 'https://app.acme.example/x' });
    await assert.rejects(consumeRequestId(ctx, backend.store()), (e: SsoError) => e.code === 'SSO_SUBJECT_CONFIRMATION');
  });

  it('refuses an unknown or expired request [SSO_SUBJECT_CONFIRMATION]', async () => {
    const backend = new FakeAcsBackend();
    await assert.rejects(consumeRequestId(readyContext(backend), backend.store()), (e: SsoError) => e.code === 'SSO_SUBJECT_CONFIRMATION');
    backend.addRequest('_req1', null, NOW);
    await assert.rejects(consumeRequestId(readyContext(backend), backend.store()), (e: SsoError) => e.code === 'SSO_SUBJECT_CONFIRMATION');
  });

  it('touches no request for an IdP-initiated Response', async () => {
    const backend = new FakeAcsBackend();
    backend.addRequest('_req1');
    const out = await consumeRequestId(readyContext(backend, { inResponseTo: null, idpInitiated: true }), backend.store());
    assert.equal(out.solicited, null);
    assert.equal(backend.requests.get('_req1')!.consumed, false);
  });
});
