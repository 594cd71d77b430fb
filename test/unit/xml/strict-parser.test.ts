import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { SsoError } from '../../../src/saml/sso-error.js';
import { DEFAULT_MAX_XML_BYTES, parseXmlStrict } from '../../../src/xml/strict-parser.js';

function refused(xml: string | Uint8Array, reason: RegExp, opts?: Parameters<typeof parseXmlStrict>[1]): void {
  assert.throws(
    () => parseXmlStrict(xml, opts),
    (err: unknown) => {
      assert.ok(err instanceof SsoError, `expected SsoError, got ${String(err)}`);
      assert.equal(err.code, 'SSO_MALFORMED');
      assert.match(err.reason, reason);
      return true;
    },
  );
}

/** What xmldom 0.9 does on its own with the same input, to show each check is ours. */
function xmldomAlone(xml: string): 'parsed' | 'threw' {
  try {
    new DOMParser({ onError: () => undefined }).parseFromString(xml, 'application/xml');
    return 'parsed';
  } catch {
    return 'threw';
  }
}

describe('xml/strict-parser', () => {
  describe('accepts', () => {
    it('a namespaced document, with declaration, BOM, comments, PIs, CDATA and predefined/numeric references', () => {
      const xml =
        '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- before --><?pi data?>' +
        '<r:root xmlns:r="urn:r" a="&quot;&amp;&lt;&gt;&apos;"><r:x>caf&#233; &#x1F600;<![CDATA[<&>]]></r:x><?x y?><!-- c --></r:root>';
      const doc = parseXmlStrict(xml);
      const root = doc.documentElement!;
      assert.equal(root.namespaceURI, 'urn:r');
      assert.equal(root.getAttribute('a'), '"&<>\'');
      assert.equal(root.firstChild!.textContent, 'café 😀<&>');
    });

    it('UTF-8 bytes, and strings at exactly maxBytes', () => {
      const xml = '<a>é</a>';
      assert.equal(parseXmlStrict(Buffer.from(xml, 'utf8')).documentElement!.textContent, 'é');
      assert.equal(parseXmlStrict(xml, { maxBytes: Buffer.byteLength(xml) }).documentElement!.localName, 'a');
    });

    it('has a 1 MiB default size limit', () => {
      assert.equal(DEFAULT_MAX_XML_BYTES, 1024 * 1024);
      const big = `<a>${'x'.repeat(DEFAULT_MAX_XML_BYTES)}</a>`;
      refused(big, /larger than 1048576 bytes/);
    });
  });

  describe('refuses', () => {
    it('an internal DOCTYPE with entities (xmldom keeps the DOCTYPE node)', () => {
      const xml = '<!DOCTYPE r [<!ENTITY e "evil">]><r>&e;</r>';
      assert.equal(xmldomAlone(xml), 'parsed');
      refused(xml, /DOCTYPE or ENTITY/);
    });

    it('an external entity (XXE, SYSTEM)', () => {
      refused('<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>', /DOCTYPE or ENTITY/);
    });

    it('billion laughs', () => {
      const lol =
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><lolz>&lol2;</lolz>';
      refused(lol, /DOCTYPE or ENTITY/);
    });

    it('a bare DOCTYPE, in any case, and other markup declarations', () => {
      refused('<!DOCTYPE r><r/>', /DOCTYPE/);
      refused('<!doctype r><r/>', /DOCTYPE/);
      refused('<!ELEMENT r ANY><r/>', /markup declaration/);
    });

    it('a DOCTYPE even hidden in a comment (textual check, fail closed)', () => {
      refused('<r><!-- <!DOCTYPE x> --></r>', /DOCTYPE/);
    });

    it('undefined entity references (xmldom only reports them) and HTML entities', () => {
      assert.equal(xmldomAlone('<r>&foo;</r>'), 'parsed');
      refused('<r>&foo;</r>', /entity reference not allowed/);
      refused('<r a="&nbsp;"/>', /entity reference not allowed/);
    });

    it('a bare ampersand (xmldom accepts it)', () => {
      assert.equal(xmldomAlone('<r>a & b</r>'), 'parsed');
      refused('<r>a & b</r>', /entity reference not allowed/);
    });

    it('character references to non-characters (xmldom accepts &#0;)', () => {
      assert.equal(xmldomAlone('<r>&#0;</r>'), 'parsed');
      refused('<r>&#0;</r>', /not an XML character/);
      refused('<r>&#xD800;</r>', /not an XML character/);
      refused('<r>&#xFFFE;</r>', /not an XML character/);
      refused('<r>&#xFFFD;</r>', /not an XML character/);
    });

    it('forbidden raw characters, lone surrogates and U+FFFD', () => {
      refused('<r>\u0001</r>', /not allowed in XML 1.0/);
      refused('<r>\uD800</r>', /surrogate/);
      refused('<r>\uFFFD</r>', /U\+FFFD/);
    });

    it('invalid UTF-8 bytes', () => {
      refused(Buffer.from([0x3c, 0x72, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x72, 0x3e]), /not valid UTF-8/);
    });

    it('a declared encoding other than UTF-8, or XML 1.1', () => {
      assert.equal(xmldomAlone('<?xml version="1.1"?><r/>'), 'parsed');
      refused('<?xml version="1.0" encoding="UTF-16"?><r/>', /encoding "UTF-16"/);
      refused('<?xml version="1.0" encoding="ISO-8859-1"?><r/>', /encoding/);
      refused('<?xml version="1.1"?><r/>', /version "1.1"/);
    });

    it('parse errors and warnings', () => {
      refused('<r><a></r>', /XML fatalError/);
      refused('<r a="1" a="2"/>', /XML fatalError/);
      refused('<p:r/>', /XML fatalError/);
      refused('', /XML fatalError/);
    });

    it('text after the root (xmldom only reports it) and multiple roots', () => {
      assert.equal(xmldomAlone('<r/>junk'), 'parsed');
      refused('<r/>junk', /XML error/);
      refused('<r/><s/>', /XML fatalError/);
    });

    it('the same attribute twice under two prefixes of one namespace (xmldom silently keeps the last)', () => {
      const xml = '<r xmlns:a="urn:x" xmlns:b="urn:x"><s a:n="1" b:n="2"/></r>';
      const lenient = new DOMParser({ onError: () => undefined }).parseFromString(xml, 'application/xml');
      assert.equal((lenient.documentElement!.firstChild as unknown as { attributes: { length: number } }).attributes.length, 1);
      refused(xml, /<s> has two attributes with the same expanded name/);
      // Same local name in different namespaces is fine.
      const ok = parseXmlStrict('<r xmlns:a="urn:x" xmlns:b="urn:y"><s a:n="1" b:n="2" n="3"/></r>');
      assert.equal((ok.documentElement!.firstChild as unknown as { attributes: { length: number } }).attributes.length, 3);
    });

    it('rebinding the xml prefix or binding the reserved namespaces elsewhere', () => {
      assert.equal(xmldomAlone('<r xmlns:xml="urn:evil"/>'), 'parsed');
      refused('<r xmlns:xml="urn:evil"/>', /xml prefix cannot be rebound/);
      refused('<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>', /reserved namespace/);
    });

    it('oversized input, as string and as bytes', () => {
      refused('<r>0123456789</r>', /larger than 10 bytes/, { maxBytes: 10 });
      refused(Buffer.from('<r>0123456789</r>'), /larger than 10 bytes/, { maxBytes: 10 });
      // Measured in UTF-8 bytes, not UTF-16 units: 3 chars of 'é' are 6 bytes.
      refused('<r>ééé</r>', /larger than 12 bytes/, { maxBytes: 12 });
    });

    it('pathological input in linear time (no regex backtracking blow-up)', function () {
      this.timeout(5_000);
      const n = 200_000;
      refused(`<r>${'<?'.repeat(n)}</r>`, /unterminated <\? section/);
      refused(`<r>${'<!--'.repeat(n)}</r>`, /unterminated <!-- section/);
      // Text that looks like namespace declarations, and a tag full of blanks.
      const lookalikes = `<r xmlns:a="urn:x" xmlns:b="urn:x">${'xmlns:'.repeat(n)}<s${' '.repeat(n)}a:n="1"${' '.repeat(n)}/></r>`;
      assert.equal(parseXmlStrict(lookalikes, { maxBytes: lookalikes.length }).documentElement!.localName, 'r');
    });

    it('nesting deeper than maxDepth', () => {
      const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
      assert.equal(parseXmlStrict(deep(5), { maxDepth: 5 }).documentElement!.localName, 'a');
      refused(deep(6), /deeper than 5/, { maxDepth: 5 });
      refused(deep(101), /deeper than 100/);
    });
  });
});
