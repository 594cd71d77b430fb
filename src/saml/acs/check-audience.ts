/**
 * R-SAML-3, eighth rule [SSO_AUDIENCE]: the signed Conditions carry at least one
 * AudienceRestriction, and every one of them names this SP's entity id (saml-core §2.5.1.4:
 * each restriction must be satisfied on its own) — an assertion made for another SP is refused.
 */
import { textContent } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import { conditionsOf } from './check-conditions.js';
import type { VerifiedAssertion } from './context.js';
import { signedChildElements } from './signed-element.js';

export function checkAudience<C extends VerifiedAssertion>(ctx: C): C {
  const conditions = conditionsOf(ctx.assertion);
  const restrictions = conditions ? signedChildElements(conditions, NS.saml, 'AudienceRestriction') : [];
  if (restrictions.length === 0) throw new SsoError('SSO_AUDIENCE', 'assertion has no AudienceRestriction');
  for (const restriction of restrictions) {
    const audiences = signedChildElements(restriction, NS.saml, 'Audience').map((a) => textContent(a).trim());
    if (!audiences.includes(ctx.settings.spEntityId)) {
      throw new SsoError(
        'SSO_AUDIENCE',
        `AudienceRestriction (${audiences.map((a) => a.slice(0, 200)).join(', ') || 'empty'}) does not name ${ctx.settings.spEntityId}`,
      );
    }
  }
  return ctx;
}
