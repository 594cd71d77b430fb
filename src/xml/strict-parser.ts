/**
 * The one XML parser of fedbridge (R-SAML-3, first bullet): @xmldom/xmldom 0.9 behind checks
 * that make it refuse what it would otherwise tolerate. xmldom is lenient by default (it keeps
 * going after "entity not found", accepts `&#0;`, a bare `&`, an XML 1.1 declaration, text
 * after the root…), so every report it makes is fatal here and the input is screened before
 * and the tree walked after parsing.
 *
 * Refused with `SsoError('SSO_MALFORMED', reason)`: any DOCTYPE or markup declaration
 * (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`…), entity references other than the five
 * predefined ones and numeric references to legal characters, characters XML 1.0 forbids,
 * unpaired surrogates and U+FFFD (the mark of a lossy UTF-8 decode), invalid UTF-8 bytes, a
 * declared encoding other than UTF-8 or a version other than 1.0, parse errors and warnings,
 * anything but exactly one root element, duplicate attributes, misuse of the `xml`/`xmlns`
 * prefixes, nesting deeper than `maxDepth`, and input over `maxBytes`.
 *
 * Comments and processing instructions are allowed: they cannot change what a caller reads,
 * because signed content is read only from its canonical form (see signed-content-verifier.ts).
 */
import { DOMParser } from '@xmldom/xmldom';
import type { Document, Node, Element } from '@xmldom/xmldom';
import { SsoError } from '../saml/sso-error.js';

export interface StrictParseOptions {
  /** Largest accepted input, in UTF-8 bytes. Default {@link DEFAULT_MAX_XML_BYTES}. */
  maxBytes?: number;
  /** Deepest accepted element nesting (root = 1). Default {@link DEFAULT_MAX_XML_DEPTH}. */
  maxDepth?: number;
}

/** 1 MiB: the metadata limit of R-SAML-7; the ACS enforces its own smaller body limit first. */
export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;
/** SAML and metadata documents nest a dozen levels; deep nesting only serves stack exhaustion. */
export const DEFAULT_MAX_XML_DEPTH = 100;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;

/** Characters outside the XML 1.0 `Char` production, plus U+FFFD (see module comment). */
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD\uFFFE\uFFFF]/;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DECLARATION_TEXT = /<!DOCTYPE|<!ENTITY/i;
const REFERENCE = /&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/y;
const XML_DECLARATION_START = /^<\?xml[\s?]/;
const XML_DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])([^"']*)\1(?:\s+encoding\s*=\s*(["'])([^"']*)\3)?(?:\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*\?>/;

function malformed(reason: string): SsoError {
  return new SsoError('SSO_MALFORMED', reason);
}

/** XML 1.0 `Char`, less U+FFFD, refused in every form so a re-parse of canonical text agrees. */
function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffc) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw malformed('input is not valid UTF-8');
  }
}

function checkDeclaration(xml: string): void {
  if (!XML_DECLARATION_START.test(xml)) return;
  const match = XML_DECLARATION.exec(xml);
  if (!match) throw malformed('malformed XML declaration');
  if (match[2] !== '1.0') throw malformed(`XML version ${JSON.stringify(match[2])} is not 1.0`);
  const encoding = match[4];
  if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
    // The text was decoded as UTF-8; another declared encoding means the bytes meant something else.
    throw malformed(`declared encoding ${JSON.stringify(encoding)} is not UTF-8`);
  }
}

/** Sections whose content is not markup, by opening and closing delimiter. */
const OPAQUE_SECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
];

/**
 * The text with comments, CDATA sections and PIs cut out, so `<!` and `&` are looked for in
 * markup only. A linear scan: a lazy regex here would go quadratic on many unclosed `<?`.
 */
function stripOpaqueSections(xml: string): string {
  if (!xml.includes('<!') && !xml.includes('<?')) return xml;
  let out = '';
  let from = 0;
  for (let lt = xml.indexOf('<', from); lt !== -1; lt = xml.indexOf('<', lt + 1)) {
    const section = OPAQUE_SECTIONS.find(([open]) => xml.startsWith(open, lt));
    if (!section) continue;
    const end = xml.indexOf(section[1], lt + section[0].length);
    if (end === -1) throw malformed(`unterminated ${section[0]} section`);
    out += xml.slice(from, lt);
    from = end + section[1].length;
    lt = from - 1;
  }
  return out + xml.slice(from);
}

const START_TAG = /<(?![/!?])[^\s/>]+((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/g;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')/g;

// No ':' in the prefix: each match attempt then stops at the next colon, keeping the scan linear.
const PREFIX_DECLARATION = /xmlns:([^\s=/>:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Two attributes can share an expanded name only if two prefixes are bound to one namespace. */
function twoPrefixesShareANamespace(markup: string): boolean {
  const prefixByNamespace = new Map<string, string>();
  for (const decl of markup.matchAll(PREFIX_DECLARATION)) {
    const uri = decl[2] ?? decl[3] ?? '';
    const seen = prefixByNamespace.get(uri);
    if (seen === undefined) prefixByNamespace.set(uri, decl[1]!);
    else if (seen !== decl[1]) return true;
  }
  return false;
}

/**
 * xmldom silently keeps only the last of two attributes with one expanded name (`a:n` and
 * `b:n`, both prefixes bound to one namespace). Start tags whose attributes share a local name
 * under different qualified names are noted here, by element index in document order with
 * their attribute count, for checkTree to compare with what xmldom built.
 */
function attributeCollisions(markup: string): Map<number, number> {
  const suspects = new Map<number, number>();
  if (!twoPrefixesShareANamespace(markup)) return suspects;
  let index = 0;
  for (const tag of markup.matchAll(START_TAG)) {
    const attrs = tag[1];
    if (attrs && attrs.includes(':')) {
      const names = [...attrs.matchAll(ATTRIBUTE)].map((a) => a[1]!);
      const localNames = names.filter((n) => n !== 'xmlns' && !n.startsWith('xmlns:')).map((n) => n.slice(n.indexOf(':') + 1));
      if (new Set(localNames).size !== localNames.length) suspects.set(index, names.length);
    }
    index++;
  }
  return suspects;
}

/**
 * Screens the text before xmldom sees it: what xmldom would tolerate is refused here. Returns
 * the markup (text without comments, CDATA and PIs) for attributeCollisions.
 */
function screenText(xml: string): string {
  if (DECLARATION_TEXT.test(xml)) throw malformed('DOCTYPE or ENTITY declaration present');
  if (FORBIDDEN_CHAR.test(xml)) throw malformed('character not allowed in XML 1.0 (or U+FFFD)');
  if (ANY_SURROGATE.test(xml) && LONE_SURROGATE.test(xml)) throw malformed('unpaired UTF-16 surrogate');
  checkDeclaration(xml);

  const markup = stripOpaqueSections(xml);
  if (markup.includes('<!')) throw malformed('markup declaration (<!…) present');
  for (let at = markup.indexOf('&'); at !== -1; at = markup.indexOf('&', at + 1)) {
    REFERENCE.lastIndex = at;
    const ref = REFERENCE.exec(markup);
    if (!ref) throw malformed(`entity reference not allowed near ${JSON.stringify(markup.slice(at, at + 12))}`);
    const numeric = ref[2] ?? ref[3];
    if (numeric !== undefined) {
      const codePoint = Number.parseInt(numeric, ref[2] !== undefined ? 10 : 16);
      if (!isXmlChar(codePoint)) throw malformed(`character reference ${ref[0]} is not an XML character`);
    }
  }
  return markup;
}

/** Walks the parsed tree: one root, nothing xmldom let through that XML forbids, bounded depth. */
function checkTree(doc: Document, maxDepth: number, collisions: Map<number, number>): void {
  if (doc.doctype) throw malformed('DOCTYPE present');
  let roots = 0;
  for (let node = doc.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE) roots++;
    else if (node.nodeType === PROCESSING_INSTRUCTION_NODE || node.nodeType === COMMENT_NODE) continue;
    else if (node.nodeType === TEXT_NODE && /^\s*$/.test(node.nodeValue ?? '')) continue;
    else throw malformed(`unexpected node of type ${node.nodeType} at document level`);
  }
  if (roots !== 1) throw malformed(`document has ${roots} root elements`);

  const root = doc.documentElement;
  if (!root) throw malformed('no root element');
  const stack: Array<[Node, number]> = [[root, 1]];
  let elementIndex = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    switch (node.nodeType) {
      case ELEMENT_NODE: {
        if (depth > maxDepth) throw malformed(`elements nested deeper than ${maxDepth}`);
        const attributeCount = collisions.get(elementIndex++);
        if (attributeCount !== undefined && attributeCount !== (node as Element).attributes.length) {
          throw malformed(`<${(node as Element).tagName}> has two attributes with the same expanded name`);
        }
        checkAttributes(node as Element);
        for (let child = node.lastChild; child; child = child.previousSibling) stack.push([child, depth + 1]);
        break;
      }
      case TEXT_NODE:
      case CDATA_SECTION_NODE:
      case PROCESSING_INSTRUCTION_NODE:
      case COMMENT_NODE:
        break;
      default:
        // Entity references (5), entities (6), doctypes (10)… have no place in an accepted document.
        throw malformed(`unexpected node of type ${node.nodeType}`);
    }
  }
}

function checkAttributes(el: Element): void {
  const attrs = el.attributes;
  if (attrs.length === 0) return;
  const seen = new Set<string>();
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs.item(i)!;
    if (attr.namespaceURI === XMLNS_NS) {
      // Namespaces in XML 1.0 §3: `xml` is bound for good, `xmlns` never, and neither namespace
      // may be bound to another prefix. xmldom accepts all of these.
      const declared = attr.prefix === 'xmlns' ? attr.localName : '';
      if (declared === 'xmlns') throw malformed('the xmlns prefix cannot be declared');
      if (declared === 'xml' && attr.value !== XML_NS) throw malformed('the xml prefix cannot be rebound');
      if (declared !== 'xml' && (attr.value === XML_NS || attr.value === XMLNS_NS)) {
        throw malformed(`reserved namespace bound to ${declared ? `prefix ${declared}` : 'the default namespace'}`);
      }
      continue;
    }
    const key = `${attr.namespaceURI ?? ''}\u0000${attr.localName}`;
    if (seen.has(key)) throw malformed(`attribute {${attr.namespaceURI ?? ''}}${attr.localName} appears twice`);
    seen.add(key);
  }
}

/**
 * Parses `xml` (a string, or bytes that must be UTF-8) into a DOM, refusing everything listed
 * in the module comment with `SsoError('SSO_MALFORMED', reason)`.
 */
export function parseXmlStrict(xml: string | Uint8Array, opts: StrictParseOptions = {}): Document {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_XML_DEPTH;

  let text: string;
  if (typeof xml === 'string') {
    // A UTF-16 unit encodes to at most 3 UTF-8 bytes: skip the exact count when it cannot matter.
    if (xml.length * 3 > maxBytes && Buffer.byteLength(xml, 'utf8') > maxBytes) {
      throw malformed(`input larger than ${maxBytes} bytes`);
    }
    text = xml;
  } else {
    if (xml.byteLength > maxBytes) throw malformed(`input larger than ${maxBytes} bytes`);
    text = decodeUtf8(xml);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const markup = screenText(text);

  let doc: Document;
  // xmldom wraps what onError throws in its own ParseError, so keep the first report aside.
  let firstReport: SsoError | undefined;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        firstReport ??= malformed(`XML ${level}: ${message}`);
        throw firstReport;
      },
    }).parseFromString(text, 'application/xml');
  } catch (err) {
    throw firstReport ?? malformed(`XML parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Only once xmldom found the text well-formed: the start-tag scan relies on it.
  checkTree(doc, maxDepth, attributeCollisions(markup));
  return doc;
}
