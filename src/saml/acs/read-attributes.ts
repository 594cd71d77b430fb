/**
 * R-SAML-3 ("everything the bridge reads … is read from the signed content") and R-ACC-1:
 * the attributes of the signed Assertion's AttributeStatements, by Name, with their values
 * as text. `xsi:nil` values are absent values, not empty strings. EncryptedAttributes are not
 * supported and are skipped (no IdP we interoperate with sends them for SSO).
 */
import { attributeValue, textContent } from '../../xml/dom.js';
import type { RawAttribute } from '../../accounts/attribute-mapper.js';
import { NS } from '../namespaces.js';
import type { VerifiedAssertion, WithAttributes } from './context.js';
import { signedChildElements } from './signed-element.js';

export function readAttributes<C extends VerifiedAssertion>(ctx: C): C & WithAttributes {
  const attributes: RawAttribute[] = [];
  for (const statement of signedChildElements(ctx.assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of signedChildElements(statement, NS.saml, 'Attribute')) {
      const name = attributeValue(attribute, 'Name');
      if (!name) continue;
      const values = signedChildElements(attribute, NS.saml, 'AttributeValue')
        .filter((v) => v.getAttributeNS(NS.xsi, 'nil') !== 'true')
        .map((v) => textContent(v));
      attributes.push({ name, values });
    }
  }
  return { ...ctx, attributes };
}
