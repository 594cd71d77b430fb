/**
 * R-SAML-3, second rule [SSO_IDP_STATUS]: the Response's top-level StatusCode is Success.
 * Otherwise the IdP's status code (and second-level code) is the public detail of the error,
 * so the user and the administrator see what the IdP said; StatusMessage goes to the log only.
 */
import { attributeValue, childElements, textContent } from '../../xml/dom.js';
import { NS, STATUS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { ReceivedResponse } from './context.js';

export function checkStatus<C extends ReceivedResponse>(ctx: C): C {
  const statuses = childElements(ctx.response, NS.samlp, 'Status');
  if (statuses.length !== 1) throw new SsoError('SSO_MALFORMED', `Response has ${statuses.length} Status elements`);
  const codes = childElements(statuses[0]!, NS.samlp, 'StatusCode');
  if (codes.length !== 1) throw new SsoError('SSO_MALFORMED', 'Status has no single StatusCode');
  const code = attributeValue(codes[0]!, 'Value');
  if (!code) throw new SsoError('SSO_MALFORMED', 'StatusCode has no Value');
  if (code === STATUS.success) return ctx;

  const sub = childElements(codes[0]!, NS.samlp, 'StatusCode')[0];
  const subCode = sub ? attributeValue(sub, 'Value') : null;
  const messageEl = childElements(statuses[0]!, NS.samlp, 'StatusMessage')[0];
  const message = messageEl ? textContent(messageEl).trim().slice(0, 200) : '';
  const detail = subCode ? `${code} / ${subCode}` : code;
  throw new SsoError(
    'SSO_IDP_STATUS',
    `the IdP answered ${detail}${message ? ` with message ${JSON.stringify(message)}` : ''}`,
    detail.slice(0, 300),
  );
}
