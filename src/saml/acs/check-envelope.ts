/**
 * R-SAML-3, second rule [SSO_MALFORMED]: the root is `Response` in the SAML 2.0 protocol
 * namespace (by namespace URI, whatever its prefix), Version="2.0", with an ID. The parser
 * already guarantees exactly one root element.
 */
import { attributeValue } from '../../xml/dom.js';
import { NS } from '../namespaces.js';
import { SsoError } from '../sso-error.js';
import type { ParsedDocument, ReceivedResponse } from './context.js';

export function checkEnvelope(ctx: ParsedDocument): ReceivedResponse {
  const root = ctx.document.documentElement;
  if (!root) throw new SsoError('SSO_MALFORMED', 'document has no root element');
  if (root.localName !== 'Response' || root.namespaceURI !== NS.samlp) {
    const name = `{${root.namespaceURI ?? ''}}${root.localName ?? root.nodeName}`;
    throw new SsoError('SSO_MALFORMED', `root element is ${name}, not a samlp:Response`);
  }
  const version = attributeValue(root, 'Version');
  if (version !== '2.0') throw new SsoError('SSO_MALFORMED', `Response Version is ${JSON.stringify(version)}, not "2.0"`);
  if (!attributeValue(root, 'ID')) throw new SsoError('SSO_MALFORMED', 'Response has no ID');
  // The document itself is not passed on: from here steps work on the Response element.
  return { settings: ctx.settings, deps: ctx.deps, clock: ctx.clock, response: root };
}
