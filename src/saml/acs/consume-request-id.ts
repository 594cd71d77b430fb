/**
 * R-SAML-3, seventh rule [SSO_SUBJECT_CONFIRMATION]: the InResponseTo names an AuthnRequest
 * this org sent, not expired and not yet answered; consuming it is single use (one
 * conditional UPDATE, so two instances racing on one Response cannot both win). A Response
 * without InResponseTo got here only because IdP-initiated sign-in is on.
 */
import { SsoError } from '../sso-error.js';
import type { AcsStore, VerifiedAssertion, WithConfirmation, WithRequest } from './context.js';

export async function consumeRequestId<C extends VerifiedAssertion & WithConfirmation>(
  ctx: C,
  store: AcsStore,
): Promise<C & WithRequest> {
  const requestId = ctx.confirmation.inResponseTo;
  if (requestId === null) return { ...ctx, solicited: null };
  const request = await store.consumeRequestId(requestId, ctx.clock.now());
  if (!request) {
    throw new SsoError(
      'SSO_SUBJECT_CONFIRMATION',
      `InResponseTo ${requestId.slice(0, 100)} is not a pending AuthnRequest of this organisation (unknown, expired or already used)`,
    );
  }
  return { ...ctx, solicited: { requestId, target: request.target } };
}
