/**
 * R-SAML-3, first rule [SSO_MALFORMED]: the decoded bytes are UTF-8 XML with no DOCTYPE, no
 * entity declarations or references, no external references and exactly one root — the
 * strict parser's whole contract (src/xml/strict-parser.ts).
 */
import { parseXmlStrict } from '../../xml/strict-parser.js';
import type { DecodedBody, ParsedDocument } from './context.js';
import { MAX_SAML_RESPONSE_BYTES } from './decode-body.js';

export function parseXml(ctx: DecodedBody): ParsedDocument {
  const document = parseXmlStrict(ctx.xml, { maxBytes: MAX_SAML_RESPONSE_BYTES });
  return { settings: ctx.settings, deps: ctx.deps, clock: ctx.clock, document };
}
