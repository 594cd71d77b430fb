/**
 * R-SAML-3, last rule [SSO_REPLAY]: the assertion ID was never consumed before by this org.
 * The id is kept in the database (so every instance sees it) until the assertion could no
 * longer pass the time checks anyway: its latest NotOnOrAfter plus the clock skew. Runs on
 * the same transaction as consume-request-id (index.ts explains the order).
 */
import { SsoError } from '../sso-error.js';
import { skewMs, type AcsStore, type VerifiedAssertion, type WithConditions, type WithConfirmation } from './context.js';

export async function consumeAssertionId<C extends VerifiedAssertion & WithConfirmation & WithConditions>(
  ctx: C,
  store: AcsStore,
): Promise<C> {
  const now = ctx.clock.now();
  const until = Math.max(ctx.confirmation.notOnOrAfter, ctx.conditions.notOnOrAfter ?? 0) + skewMs(ctx.settings);
  if (!(await store.rememberAssertionId(ctx.assertionId, until, now))) {
    throw new SsoError('SSO_REPLAY', `assertion ${ctx.assertionId.slice(0, 100)} was already used`);
  }
  return ctx;
}
