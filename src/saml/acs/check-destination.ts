/**
 * R-SAML-3, third rule [SSO_DESTINATION]: a Response Destination, when present, is exactly this
 * organisation's ACS URL — a Response meant for another SP (or another org here) is refused.
 */
import { attributeValue } from '../../xml/dom.js';
import { SsoError } from '../sso-error.js';
import type { ReceivedResponse } from './context.js';

export function checkDestination<C extends ReceivedResponse>(ctx: C): C {
  const destination = attributeValue(ctx.response, 'Destination');
  if (destination !== null && destination !== ctx.settings.acsUrl) {
    throw new SsoError(
      'SSO_DESTINATION',
      `Response Destination ${JSON.stringify(destination.slice(0, 300))} is not this ACS URL ${ctx.settings.acsUrl}`,
    );
  }
  return ctx;
}
