import assert from 'node:assert/strict';
import { attributeValue, childElements, descendantElements, firstChildElement, textContent } from '../../../src/xml/dom.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

describe('xml/dom', () => {
  const doc = parseXmlStrict(
    `<a:Subject xmlns:a="${SAML}" xmlns:evil="urn:evil" ID="s" evil:ID="x">` +
      `<evil:NameID>wrong namespace, right prefix-less name</evil:NameID>` +
      `<b:NameID xmlns:b="${SAML}">al<!-- c -->ice<?pi x?><![CDATA[@example.com]]><b:i>!</b:i></b:NameID>` +
      `<NameID xmlns="${SAML}">second</NameID>` +
      `</a:Subject>`,
  );
  const root = doc.documentElement!;

  it('matches elements by namespace URI and local name, whatever the prefix', () => {
    const names = childElements(root, SAML, 'NameID');
    assert.equal(names.length, 2);
    assert.equal(names[0]!.prefix, 'b');
    assert.equal(names[1]!.prefix, null);
    assert.equal(firstChildElement(root, SAML, 'NameID'), names[0]);
    assert.equal(firstChildElement(root, 'urn:other', 'NameID'), null);
    assert.equal(childElements(root).length, 3);
  });

  it('reads text and CDATA, leaving comments and processing instructions out', () => {
    assert.equal(textContent(firstChildElement(root, SAML, 'NameID')!), 'alice@example.com!');
  });

  it('reads unprefixed attributes only', () => {
    assert.equal(attributeValue(root, 'ID'), 's');
    assert.equal(attributeValue(firstChildElement(root, SAML, 'NameID')!, 'ID'), null);
  });

  it('walks descendants in document order', () => {
    assert.deepEqual([...descendantElements(root)].map((e) => e.localName), ['Subject', 'NameID', 'NameID', 'i', 'NameID']);
  });
});
