/**
 * The signed-content verifier (R-SAML-10) against real signatures made by xml-crypto, each
 * verdict cross-checked with two verifiers we did not write (./oracles.ts): xml-crypto's
 * `SignedXml.checkSignature` and node-saml 5.1's `getVerifiedXml`. Where an oracle accepts
 * what we refuse, the case says why; the canonical bytes we return must equal the bytes the
 * oracles vouch for.
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SsoError } from '../../../src/saml/sso-error.js';
import type { SsoErrorCode } from '../../../src/saml/sso-error.js';
import { textContent } from '../../../src/xml/dom.js';
import { getPinnedKey } from '../../../src/xml/pinned-keys.js';
import { findDirectSignature, verifySignedElement } from '../../../src/xml/signed-content-verifier.js';
import type { VerifiedContent, VerifyOptions } from '../../../src/xml/signed-content-verifier.js';
import { parseXmlStrict } from '../../../src/xml/strict-parser.js';
import { ALG, generateTestSigningKey, signXml } from '../../support/xml-signing.js';
import type { SignXmlOptions, TestSigningKey } from '../../support/xml-signing.js';
import { nodeSamlOracle, pickElement, xmlCryptoOracle } from './oracles.js';
import type { Pick } from './oracles.js';
import { ACS_URL, SP_ENTITY_ID, samlAssertionXml, samlResponseXml } from './saml-fixtures.js';

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const STRICT: VerifyOptions = { allowSha1: false };

let idp: TestSigningKey; // the organisation's pinned RSA certificate
let idpEc: TestSigningKey; // a pinned EC P-256 certificate
let idpEc384: TestSigningKey; // a pinned EC P-384 certificate
let attacker: TestSigningKey; // a key nobody trusts

before(function () {
  this.timeout(20_000);
  idp = generateTestSigningKey({ type: 'rsa' });
  idpEc = generateTestSigningKey({ type: 'ec', curve: 'P-256' });
  idpEc384 = generateTestSigningKey({ type: 'ec', curve: 'P-384' });
  attacker = generateTestSigningKey({ type: 'rsa', subject: '/CN=attacker' });
});

function assertionOf(doc: Document, index = 0): Element {
  const el = doc.getElementsByTagNameNS(SAML_NS, 'Assertion').item(index);
  assert.ok(el, `no Assertion #${index}`);
  return el;
}

const firstAssertion: Pick = (doc) => doc.getElementsByTagNameNS(SAML_NS, 'Assertion').item(0)!;
const lastAssertion: Pick = (doc) => {
  const all = doc.getElementsByTagNameNS(SAML_NS, 'Assertion');
  return all.item(all.length - 1)!;
};

/** Parses strictly, picks the element a consumer would read, verifies it. */
function verifyXml(xml: string, pick: Pick, keys: readonly KeyObject[], opts: VerifyOptions = STRICT): VerifiedContent {
  const doc = parseXmlStrict(xml);
  const element = pickElement(doc, pick) as unknown as Element;
  return verifySignedElement(element, keys, opts);
}

function signedResponse(opts: Partial<SignXmlOptions> = {}, fixture = {}): string {
  return signXml(samlResponseXml(fixture), { key: idp, id: '_response-1', ...opts });
}

function signedAssertionInResponse(opts: Partial<SignXmlOptions> = {}, fixture = {}): string {
  return signXml(samlResponseXml(fixture), { key: idp, id: '_assertion-1', ...opts });
}

/** The serialized `ds:Signature` element of a document signed once with prefix ds. */
function signatureXml(xml: string): string {
  const m = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml);
  assert.ok(m, 'no ds:Signature in fixture');
  return m[0];
}

function replaceOnce(xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to);
  assert.notEqual(out, xml, `fixture edit did not apply: ${String(from)}`);
  return out;
}

// -----------------------------------------------------------------------------------------------

describe('xml/signed-content-verifier', () => {
  describe('valid signatures: accepted, and the oracles agree on verdict and bytes', () => {
    interface ValidCase {
      name: string;
      key: () => TestSigningKey;
      pick: Pick;
      sign: () => string;
      opts?: VerifyOptions;
      signatureAlgorithm: string;
      digestAlgorithm: string;
      /** Why node-saml cannot verify this one (it only knows xml-crypto's built-in algorithms and @ID). */
      nodeSamlCannot?: string;
    }
    const cases: ValidCase[] = [
      {
        name: 'Response, RSA-SHA256, exclusive C14N, KeyInfo present',
        key: () => idp, pick: 'root', sign: () => signedResponse(),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Assertion inside an unsigned Response, RSA-SHA256, no KeyInfo',
        key: () => idp, pick: { id: '_assertion-1' }, sign: () => signedAssertionInResponse({ keyInfo: false }),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Response, RSA-SHA512 with SHA-512 digest',
        key: () => idp, pick: 'root',
        sign: () => signedResponse({ signatureAlgorithm: ALG.rsaSha512, digestAlgorithm: ALG.sha512 }),
        signatureAlgorithm: ALG.rsaSha512, digestAlgorithm: ALG.sha512,
      },
      {
        name: 'Assertion, RSA-SHA384 with SHA-384 digest',
        key: () => idp, pick: { id: '_assertion-1' },
        sign: () => signedAssertionInResponse({ signatureAlgorithm: ALG.rsaSha384, digestAlgorithm: ALG.sha384 }),
        signatureAlgorithm: ALG.rsaSha384, digestAlgorithm: ALG.sha384,
        nodeSamlCannot: "xml-crypto 6 ships neither RSA-SHA384 nor SHA-384 and node-saml cannot register them (our xml-crypto oracle has them added)",
      },
      {
        name: 'Assertion, ECDSA-SHA256 (P-256)',
        key: () => idpEc, pick: { id: '_assertion-1' },
        sign: () => signXml(samlResponseXml(), { key: idpEc, id: '_assertion-1' }),
        signatureAlgorithm: ALG.ecdsaSha256, digestAlgorithm: ALG.sha256,
        nodeSamlCannot: 'xml-crypto 6 has no ECDSA; node-saml therefore cannot verify ECDSA at all',
      },
      {
        name: 'Response, ECDSA-SHA384 (P-384) with SHA-512 digest',
        key: () => idpEc384, pick: 'root',
        sign: () => signXml(samlResponseXml(), { key: idpEc384, id: '_response-1', signatureAlgorithm: ALG.ecdsaSha384, digestAlgorithm: ALG.sha512 }),
        signatureAlgorithm: ALG.ecdsaSha384, digestAlgorithm: ALG.sha512,
        nodeSamlCannot: 'xml-crypto 6 has no ECDSA; node-saml therefore cannot verify ECDSA at all',
      },
      {
        name: 'Response, inclusive C14N for SignedInfo and the reference',
        key: () => idp, pick: 'root',
        sign: () => signedResponse({ canonicalizationAlgorithm: ALG.c14n, transforms: [ALG.enveloped, ALG.c14n] }),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Assertion, inclusive C14N (ancestor namespaces of the Response rendered)',
        key: () => idp, pick: { id: '_assertion-1' },
        sign: () =>
          signedAssertionInResponse(
            { canonicalizationAlgorithm: ALG.c14n, transforms: [ALG.enveloped, ALG.c14n] },
            { rootNamespaces: { ext: 'urn:example:ext' } },
          ),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Assertion, enveloped-signature only (C14N 1.0 implied)',
        key: () => idp, pick: { id: '_assertion-1' },
        sign: () => signedAssertionInResponse({ transforms: [ALG.enveloped] }),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Assertion, exclusive C14N with InclusiveNamespaces PrefixList (reference and SignedInfo)',
        key: () => idp, pick: { id: '_assertion-1' },
        sign: () =>
          signedAssertionInResponse(
            { inclusiveNamespacesPrefixList: ['xs', 'samlp', 'ext'], signedInfoPrefixList: ['saml'] },
            { rootNamespaces: { ext: 'urn:example:ext' } },
          ),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'Response, Signature in the default namespace (no ds: prefix)',
        key: () => idp, pick: 'root', sign: () => signedResponse({ prefix: '' }),
        signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha256,
      },
      {
        name: 'SHA-1 (rsa-sha1, sha1 digest) when the organisation allows it',
        key: () => idp, pick: 'root', opts: { allowSha1: true },
        sign: () => signedResponse({ signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha1 }),
        signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha1,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const key = c.key();
        const xml = c.sign();
        const result = verifyXml(xml, c.pick, [getPinnedKey(key.certPem)], c.opts);
        assert.equal(result.signatureAlgorithm, c.signatureAlgorithm);
        assert.equal(result.digestAlgorithm, c.digestAlgorithm);
        assert.equal(result.key, getPinnedKey(key.certPem));
        // The returned element is the canonical signed content, re-parsed into a new document.
        assert.equal(result.element.ownerDocument!.documentElement, result.element);
        assert.equal(result.element.getAttribute('ID'), result.referenceId);
        assert.equal(result.element.toString(), parseXmlStrict(result.canonicalXml).documentElement!.toString());
        assert.ok(!result.canonicalXml.includes('SignatureValue'), 'the enveloped signature is not part of the content');

        const xc = xmlCryptoOracle(xml, c.pick, key.certPem);
        assert.equal(xc.accepted, true, `xml-crypto refused: ${xc.error}`);
        assert.deepEqual(xc.signed, [result.canonicalXml]);

        const ns = await nodeSamlOracle(xml, c.pick, key.certPem);
        if (c.nodeSamlCannot) {
          assert.equal(ns.accepted, false, 'node-saml unexpectedly verified it');
        } else {
          assert.equal(ns.accepted, true, `node-saml refused: ${ns.error}`);
          assert.deepEqual(ns.signed, [result.canonicalXml]);
        }
      });
    }

    it('both Response and Assertion signed: each verifies; the Response bytes include the signed Assertion', async () => {
      const inner = signXml(samlResponseXml(), { key: idp, id: '_assertion-1' });
      const xml = signXml(inner, { key: idp, id: '_response-1' });
      const keys = [getPinnedKey(idp.certPem)];
      const response = verifyXml(xml, 'root', keys);
      const assertion = verifyXml(xml, { id: '_assertion-1' }, keys);
      assert.ok(response.canonicalXml.includes('<ds:Signature'), 'the Assertion signature is part of the Response content');
      assert.equal(findDirectSignature(response.element), null, 'the enveloped signature is gone from the returned content');
      assert.ok(findDirectSignature(assertionOf(response.element.ownerDocument!)));
      assert.equal(findDirectSignature(assertion.element), null);
      for (const [pick, ours] of [['root', response], [{ id: '_assertion-1' }, assertion]] as const) {
        assert.deepEqual(xmlCryptoOracle(xml, pick, idp.certPem).signed, [ours.canonicalXml]);
        assert.deepEqual((await nodeSamlOracle(xml, pick, idp.certPem)).signed, [ours.canonicalXml]);
      }
    });

    it('inclusive-C14N Assertion inside a signed Response: accepted; both oracles refuse (xml-crypto bug)', async () => {
      // xml-crypto canonicalises SignedInfo with the ancestor namespaces of the document's FIRST
      // SignedInfo (`findAncestorNs(doc, "//*[local-name()='SignedInfo']")`). When the Assertion
      // was signed, its SignedInfo was the first; once the Response is signed too, the Response's
      // comes first and xml-crypto no longer verifies its own Assertion signature (inclusive
      // C14N renders the Assertion's xmlns:xs/xsi into SignedInfo). We use the SignedInfo's own
      // ancestors, as C14N 1.0 requires, and agree with the signer.
      const inner = signXml(samlResponseXml(), {
        key: idp, id: '_assertion-1', canonicalizationAlgorithm: ALG.c14n, transforms: [ALG.enveloped, ALG.c14n],
      });
      const xml = signXml(inner, { key: idp, id: '_response-1' });
      const keys = [getPinnedKey(idp.certPem)];
      verifyXml(xml, { id: '_assertion-1' }, keys);
      verifyXml(xml, 'root', keys);
      assert.equal(xmlCryptoOracle(xml, { id: '_assertion-1' }, idp.certPem).accepted, false);
      assert.equal((await nodeSamlOracle(xml, { id: '_assertion-1' }, idp.certPem)).accepted, false);
      // Before the Response was signed, xml-crypto verified it: the signature itself is sound.
      assert.equal(xmlCryptoOracle(inner, { id: '_assertion-1' }, idp.certPem).accepted, true);
    });

    it('SAML 1.1 style AssertionID with idAttributes, refused without it', () => {
      const saml11 =
        '<saml1:Assertion xmlns:saml1="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="_a11" MajorVersion="1" MinorVersion="1" Issuer="http://adfs.example.com/adfs/services/trust">' +
        '<saml1:AttributeStatement><saml1:Subject><saml1:NameIdentifier>alice@example.com</saml1:NameIdentifier></saml1:Subject></saml1:AttributeStatement></saml1:Assertion>';
      const xml = signXml(saml11, { key: idp, id: '_a11', idAttribute: 'AssertionID' });
      const keys = [getPinnedKey(idp.certPem)];
      const result = verifyXml(xml, 'root', keys, { allowSha1: false, idAttributes: ['AssertionID'] });
      assert.equal(result.referenceId, '_a11');
      assert.deepEqual(xmlCryptoOracle(xml, 'root', idp.certPem, { idAttribute: 'AssertionID' }).signed, [result.canonicalXml]);
      // node-saml looks the reference up by @ID only, so it cannot verify a SAML 1.1 assertion.
      expectRefusal(() => verifyXml(xml, 'root', keys), 'SSO_SIGNATURE', /has no ID attribute/);
    });

    it('tries every trusted key (rollover) and reports the one that verified', () => {
      const xml = signedResponse();
      const result = verifyXml(xml, 'root', [getPinnedKey(attacker.certPem), getPinnedKey(idpEc.certPem), getPinnedKey(idp.certPem)]);
      assert.equal(result.key, getPinnedKey(idp.certPem));
    });

    it('never changes the caller DOM, and the returned content does not depend on it afterwards', () => {
      // The second fixture takes the copy path (exclusive C14N would add the PrefixList's
      // ancestor declarations to the element); the first takes the signature out and puts it back.
      const fixtures = [
        signedAssertionInResponse(),
        signedAssertionInResponse(
          { inclusiveNamespacesPrefixList: ['samlp', 'ext'], signedInfoPrefixList: ['samlp'] },
          { rootNamespaces: { ext: 'urn:example:ext' } },
        ),
      ];
      for (const xml of fixtures) {
        const doc = parseXmlStrict(xml);
        const before = doc.toString();
        const result = verifySignedElement(assertionOf(doc), [getPinnedKey(idp.certPem)], STRICT);
        assert.equal(doc.toString(), before);
        assertionOf(doc).setAttribute('ID', 'changed');
        assert.equal(result.element.getAttribute('ID'), '_assertion-1');
      }
    });
  });

  describe('comment and processing-instruction injection: the caller reads exactly the signed text', () => {
    const signedName = 'victim@example.com.evil.com';

    it('a comment inside NameID does not break the signature, and the returned NameID is the signed text', async () => {
      const signed = signedAssertionInResponse({}, { nameId: signedName });
      const xml = replaceOnce(signed, `>${signedName}<`, '>victim@example.com<!---->.evil.com<');
      const result = verifyXml(xml, { id: '_assertion-1' }, [getPinnedKey(idp.certPem)]);
      const nameId = result.element.getElementsByTagNameNS(SAML_NS, 'NameID').item(0)!;
      assert.equal(textContent(nameId), signedName);
      assert.equal(nameId.childNodes.length, 1, 'no comment survives in the returned content');
      // What a consumer reading the original DOM's first text node would have taken:
      const original = parseXmlStrict(xml).getElementsByTagNameNS(SAML_NS, 'NameID').item(0)!;
      assert.equal(original.firstChild!.nodeValue, 'victim@example.com');
      // Both oracles accept too (comments are not signed content) and vouch for the same bytes.
      assert.deepEqual(xmlCryptoOracle(xml, { id: '_assertion-1' }, idp.certPem).signed, [result.canonicalXml]);
      assert.deepEqual((await nodeSamlOracle(xml, { id: '_assertion-1' }, idp.certPem)).signed, [result.canonicalXml]);
    });

    it('a processing instruction inside NameID: xml-crypto C14N renders its data as text, and so does what we return', async () => {
      // Real C14N keeps a PI as `<?x .evil.com?>`; xml-crypto's canonicalizers render a PI's data
      // as escaped text. So "victim@example.com<?x .evil.com?>" digests like the signed
      // "victim@example.com.evil.com" and the signature holds. A consumer reading the original
      // DOM (whose textContent skips PIs) would see "victim@example.com"; we return the digested
      // octets, which say exactly what was signed.
      const signed = signedAssertionInResponse({}, { nameId: signedName });
      const xml = replaceOnce(signed, `>${signedName}<`, '>victim@example.com<?x .evil.com?><');
      const result = verifyXml(xml, { id: '_assertion-1' }, [getPinnedKey(idp.certPem)]);
      const nameId = result.element.getElementsByTagNameNS(SAML_NS, 'NameID').item(0)!;
      assert.equal(textContent(nameId), signedName);
      const original = parseXmlStrict(xml).getElementsByTagNameNS(SAML_NS, 'NameID').item(0)!;
      assert.equal(textContent(original), 'victim@example.com');
      assert.deepEqual(xmlCryptoOracle(xml, { id: '_assertion-1' }, idp.certPem).signed, [result.canonicalXml]);
      assert.deepEqual((await nodeSamlOracle(xml, { id: '_assertion-1' }, idp.certPem)).signed, [result.canonicalXml]);
    });

    it('a processing instruction without data makes xml-crypto C14N throw: refused, as by both oracles', async () => {
      const signed = signedAssertionInResponse({}, { nameId: signedName });
      const xml = replaceOnce(signed, `>${signedName}<`, `>${signedName}<?x?><`);
      expectRefusal(() => verifyXml(xml, { id: '_assertion-1' }, [getPinnedKey(idp.certPem)]), 'SSO_SIGNATURE', /canonicalisation failed/);
      assert.equal(xmlCryptoOracle(xml, { id: '_assertion-1' }, idp.certPem).accepted, false);
      assert.equal((await nodeSamlOracle(xml, { id: '_assertion-1' }, idp.certPem)).accepted, false);
    });
  });

  describe('refusals (each with a crafted input; oracle verdicts compared)', () => {
    interface RefusalCase {
      name: string;
      build: () => string;
      /** The element a (naive) consumer would read and so hands to the verifier. */
      pick: Pick;
      code: SsoErrorCode;
      reason: RegExp;
      keys?: () => KeyObject[];
      opts?: VerifyOptions;
      /** Set when xml-crypto's checkSignature accepts: why that is not enough. */
      xmlCryptoAccepts?: string;
      /** Set when node-saml's getVerifiedXml accepts: why that is not enough. */
      nodeSamlAccepts?: string;
    }

    const NO_POLICY = 'it has no algorithm/transform policy: a valid signature is a valid signature';
    const cases: RefusalCase[] = [
      // --- parser ---------------------------------------------------------------------------
      {
        name: 'DOCTYPE with an internal entity in front of a validly signed Response',
        build: () => '<!DOCTYPE r [<!ENTITY e "x">]>' + signedResponse(),
        pick: 'root', code: 'SSO_MALFORMED', reason: /DOCTYPE/,
        xmlCryptoAccepts: 'DOCTYPE policing is the parser\'s job, not the signature library\'s',
        nodeSamlAccepts: 'its xmldom 0.8 parse keeps going past a DOCTYPE; the signature itself is valid',
      },
      {
        name: 'external entity (SYSTEM) declared in front of a signed Response',
        build: () => '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + signedResponse(),
        pick: 'root', code: 'SSO_MALFORMED', reason: /DOCTYPE/,
        xmlCryptoAccepts: 'xmldom never fetches external entities, so it ignores the declaration',
        nodeSamlAccepts: 'xmldom never fetches external entities, so it ignores the declaration',
      },
      {
        name: 'billion laughs in front of a signed Response',
        build: () =>
          '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
          '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>' + signedResponse(),
        pick: 'root', code: 'SSO_MALFORMED', reason: /DOCTYPE/,
        xmlCryptoAccepts: 'xmldom does not expand internal entities, so no blow-up happens there either',
        // node-saml refuses: its parse treats xmldom's "entity not found" report as an error.
      },
      {
        name: 'parse error (truncated document)',
        build: () => signedResponse().slice(0, -5),
        pick: 'root', code: 'SSO_MALFORMED', reason: /XML (fatalError|error)/,
      },
      {
        name: 'oversized document (1 MiB comment appended to a signed Response)',
        build: () => signedResponse().replace('</samlp:Response>', `<!--${'x'.repeat(1024 * 1024)}--></samlp:Response>`),
        pick: 'root', code: 'SSO_MALFORMED', reason: /larger than/,
        xmlCryptoAccepts: 'size limits belong to the caller (comments are not signed content)',
        nodeSamlAccepts: 'size limits belong to its HTTP body parser (comments are not signed content)',
      },
      // --- signature wrapping -----------------------------------------------------------------
      {
        name: 'evil Assertion before the signed one (consumer reads the first Assertion)',
        build: () =>
          replaceOnce(
            signedAssertionInResponse(),
            '<saml:Assertion ',
            samlAssertionXml({ assertionId: '_evil', nameId: 'admin@example.com' }) + '<saml:Assertion ',
          ),
        pick: firstAssertion, code: 'SSO_SIGNATURE', reason: /carries no direct ds:Signature/,
        xmlCryptoAccepts: 'checkSignature verifies the document\'s first signature, which covers the genuine Assertion, not the one read',
      },
      {
        name: 'evil Assertion after the signed one carrying a copy of its Signature (consumer reads the last)',
        build: () => {
          const xml = signedAssertionInResponse();
          const evil = samlAssertionXml({ assertionId: '_evil', nameId: 'admin@example.com' }).replace(
            '</saml:Issuer>',
            '</saml:Issuer>' + signatureXml(xml),
          );
          return replaceOnce(xml, '</samlp:Response>', evil + '</samlp:Response>');
        },
        pick: lastAssertion, code: 'SSO_SIGNATURE', reason: /Reference URI #_assertion-1 is not the signed element's ID _evil/,
      },
      {
        name: 'evil Assertion inserted inside the signed Response',
        build: () =>
          replaceOnce(
            signedResponse(),
            '</samlp:Response>',
            samlAssertionXml({ assertionId: '_evil', nameId: 'admin@example.com' }) + '</samlp:Response>',
          ),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /digest mismatch/,
      },
      {
        name: 'signed Response moved into samlp:Extensions of an evil Response that took its Signature',
        build: () => {
          const xml = signedResponse();
          const sig = signatureXml(xml);
          const original = xml.replace(sig, '');
          return samlResponseXml({ responseId: '_evil', assertionId: '_evil-a', nameId: 'admin@example.com' }).replace(
            '</saml:Issuer>',
            `</saml:Issuer>${sig}<samlp:Extensions>${original}</samlp:Extensions>`,
          );
        },
        pick: 'root', code: 'SSO_SIGNATURE', reason: /Reference URI #_response-1 is not the signed element's ID _evil/,
        xmlCryptoAccepts: 'it finds #_response-1 anywhere in the document and its digest holds: classic XSW',
      },
      {
        name: 'signed Assertion moved into saml:Advice of an evil Assertion',
        build: () => {
          const xml = signedAssertionInResponse();
          const signed = /<saml:Assertion [\s\S]*<\/saml:Assertion>/.exec(xml)![0];
          const evil = samlAssertionXml({ assertionId: '_evil', nameId: 'admin@example.com' }).replace(
            '<saml:AuthnStatement',
            `<saml:Advice>${signed}</saml:Advice><saml:AuthnStatement`,
          );
          return xml.replace(signed, evil);
        },
        pick: firstAssertion, code: 'SSO_SIGNATURE', reason: /carries no direct ds:Signature/,
        xmlCryptoAccepts: 'the signature is valid for the inner Assertion; checkSignature does not say which element it covers',
      },
      {
        name: 'signed Response moved into a ds:Object of its own Signature, placed in an evil Response',
        build: () => {
          const xml = signedResponse();
          const sig = signatureXml(xml);
          const original = xml.replace(sig, '');
          const wrapped = sig.replace('</ds:Signature>', `<ds:Object>${original}</ds:Object></ds:Signature>`);
          return samlResponseXml({ responseId: '_evil', assertionId: '_evil-a', nameId: 'admin@example.com' }).replace(
            '</saml:Issuer>',
            '</saml:Issuer>' + wrapped,
          );
        },
        pick: 'root', code: 'SSO_SIGNATURE', reason: /unexpected ds:Object in ds:Signature/,
        xmlCryptoAccepts: 'the referenced element, found inside ds:Object, still digests correctly',
      },
      {
        name: 'duplicate ID: an evil copy carrying the signed Assertion\'s ID elsewhere in the document',
        build: () =>
          replaceOnce(
            signedAssertionInResponse(),
            '</samlp:Status>',
            '</samlp:Status><samlp:Extensions>' +
              samlAssertionXml({ assertionId: '_assertion-1', nameId: 'admin@example.com' }) +
              '</samlp:Extensions>',
          ),
        pick: lastAssertion, code: 'SSO_SIGNATURE', reason: /ID _assertion-1 occurs on 2 elements/,
      },
      {
        name: 'Reference URI to a different element (Response Signature that signs the Assertion)',
        build: () =>
          signedAssertionInResponse({
            location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' },
          }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /Reference URI #_assertion-1 is not the signed element's ID _response-1/,
        xmlCryptoAccepts: 'a signature may reference any element; it does not tie it to its parent',
      },
      {
        name: 'two References (the Response and its Issuer)',
        build: () => signedResponse({ extraReferences: [{ xpath: "/*/*[local-name(.)='Issuer']" }] }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /2 References/,
        xmlCryptoAccepts: 'XML-DSig allows any number of References and both digests hold',
      },
      {
        name: 'empty Reference URI "" (whole document)',
        build: () => signedResponse({ emptyUri: true }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /Reference URI "" is not #ID/,
        xmlCryptoAccepts: 'URI="" is the whole document in XML-DSig, and the digest holds',
      },
      {
        name: 'Signature not a direct child (moved into the Assertion\'s Subject)',
        build: () => {
          const xml = signedAssertionInResponse();
          const sig = signatureXml(xml);
          return replaceOnce(xml.replace(sig, ''), '<saml:SubjectConfirmation ', sig + '<saml:SubjectConfirmation ');
        },
        pick: { id: '_assertion-1' }, code: 'SSO_SIGNATURE', reason: /carries no direct ds:Signature/,
        xmlCryptoAccepts: 'enveloped-signature removes the signature wherever it is inside the element',
      },
      {
        name: 'two direct Signatures on one element',
        build: () => {
          const xml = signedResponse();
          return replaceOnce(xml, '</samlp:Response>', signatureXml(xml) + '</samlp:Response>');
        },
        pick: 'root', code: 'SSO_SIGNATURE', reason: /more than one direct ds:Signature/,
      },
      {
        name: 'missing signature',
        build: () => samlResponseXml(),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /carries no direct ds:Signature/,
      },
      // --- keys ---------------------------------------------------------------------------------
      {
        name: 'signed by an untrusted key carried in KeyInfo',
        build: () => signXml(samlResponseXml(), { key: attacker, id: '_response-1' }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /not verified by any of 1 trusted key/,
      },
      {
        name: 'signed by an untrusted key whose KeyInfo claims the trusted certificate',
        build: () => signXml(samlResponseXml(), { key: attacker, id: '_response-1', keyInfo: idp.certPem }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /not verified/,
      },
      {
        name: 'ECDSA signature by a trusted EC key, but only the RSA certificate is trusted',
        build: () => signXml(samlResponseXml(), { key: idpEc, id: '_response-1' }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /not verified/,
      },
      // --- algorithms and transforms ------------------------------------------------------------
      {
        name: 'SHA-1 signature and digest without allowSha1',
        build: () => signedResponse({ signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha1 }),
        pick: 'root', code: 'SSO_WEAK_ALGORITHM', reason: /rsa-sha1 uses SHA-1/,
        xmlCryptoAccepts: NO_POLICY, nodeSamlAccepts: NO_POLICY,
      },
      {
        name: 'RSA-SHA256 signature over a SHA-1 digest without allowSha1',
        build: () => signedResponse({ digestAlgorithm: ALG.sha1 }),
        pick: 'root', code: 'SSO_WEAK_ALGORITHM', reason: /digest algorithm .*sha1 uses SHA-1/,
        xmlCryptoAccepts: NO_POLICY, nodeSamlAccepts: NO_POLICY,
      },
      {
        name: 'RSA-PSS (sha256-rsa-MGF1) is not in the allow-list',
        build: () =>
          signXml(samlResponseXml(), {
            key: { type: 'rsa', privateKey: idp.privateKeyPem as unknown as KeyObject },
            id: '_response-1',
            signatureAlgorithm: 'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
          }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /sha256-rsa-MGF1 not allowed/,
        xmlCryptoAccepts: NO_POLICY, nodeSamlAccepts: NO_POLICY,
      },
      {
        name: 'HMAC-SHA1 SignatureMethod (key confusion)',
        build: () => replaceOnce(signedResponse(), ALG.rsaSha256, 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /hmac-sha1 not allowed/,
      },
      {
        name: 'exclusive C14N WithComments as SignedInfo CanonicalizationMethod',
        build: () => signedResponse({ canonicalizationAlgorithm: ALG.excC14nWithComments }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /WithComments: comments must not be signed content/,
        xmlCryptoAccepts: NO_POLICY, nodeSamlAccepts: NO_POLICY,
      },
      {
        name: 'exclusive C14N WithComments as reference transform',
        build: () => signedResponse({ transforms: [ALG.enveloped, ALG.excC14nWithComments] }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /transform .*WithComments: comments must not be signed content/,
        xmlCryptoAccepts: 'it has no transform policy; with a same-document URI it even drops the comments WithComments asks for',
        nodeSamlAccepts: 'same as xml-crypto, on which it is built',
      },
      {
        name: 'inclusive C14N WithComments as reference transform',
        build: () => signedResponse({ transforms: [ALG.enveloped, ALG.c14nWithComments] }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /WithComments/,
        xmlCryptoAccepts: 'it has no transform policy', nodeSamlAccepts: 'it has no transform policy',
      },
      {
        name: 'XPath transform',
        build: () =>
          replaceOnce(
            signedResponse(),
            `<ds:Transform Algorithm="${ALG.excC14n}"/>`,
            '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>',
          ),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /transform http:\/\/www.w3.org\/TR\/1999\/REC-xpath-19991116 not allowed/,
      },
      {
        name: 'XSLT transform',
        build: () =>
          replaceOnce(
            signedResponse(),
            `<ds:Transform Algorithm="${ALG.excC14n}"/>`,
            '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>',
          ),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /REC-xslt-19991116 not allowed/,
      },
      {
        name: 'transforms in the wrong order (C14N before enveloped-signature)',
        build: () => signedResponse({ transforms: [ALG.excC14n, ALG.enveloped] }),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /first transform must be enveloped-signature/,
        xmlCryptoAccepts: 'it applies any sequence of known transforms',
        nodeSamlAccepts: 'it only limits the number of transforms to two',
      },
      // --- tampering ------------------------------------------------------------------------------
      {
        name: 'tampered DigestValue',
        build: () => replaceOnce(signedResponse(), /<ds:DigestValue>./, '<ds:DigestValue>A'),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /SignatureValue .* not verified/,
      },
      {
        name: 'tampered SignedInfo (Reference gains an Id)',
        build: () => replaceOnce(signedResponse(), '<ds:Reference ', '<ds:Reference Id="x" '),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /SignatureValue .* not verified/,
      },
      {
        name: 'tampered SignatureValue',
        build: () => replaceOnce(signedResponse(), /<ds:SignatureValue>./, '<ds:SignatureValue>A'),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /not verified/,
      },
      {
        name: 'tampered content (NameID changed)',
        build: () => replaceOnce(signedResponse(), 'alice@example.com</saml:NameID>', 'admin@example.com</saml:NameID>'),
        pick: 'root', code: 'SSO_SIGNATURE', reason: /digest mismatch/,
      },
      {
        name: 'tampered content (attribute added to the signed element)',
        build: () => replaceOnce(signedAssertionInResponse(), '<saml:Assertion ', '<saml:Assertion Extra="1" '),
        pick: { id: '_assertion-1' }, code: 'SSO_SIGNATURE', reason: /digest mismatch/,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const xml = c.build();
        const keys = c.keys ? c.keys() : [getPinnedKey(idp.certPem)];
        expectRefusal(() => verifyXml(xml, c.pick, keys, c.opts), c.code, c.reason);

        const xc = xmlCryptoOracle(xml, c.pick, idp.certPem);
        assert.equal(xc.accepted, c.xmlCryptoAccepts !== undefined, `xml-crypto verdict differs (${xc.error ?? 'accepted'})`);
        const ns = await nodeSamlOracle(xml, c.pick, idp.certPem);
        assert.equal(ns.accepted, c.nodeSamlAccepts !== undefined, `node-saml verdict differs (${ns.error ?? 'accepted'})`);
      });
    }

    it('exclusive-C14N namespace blow-up in signed content is refused before canonicalising', () => {
      // A genuine signature, and content changed to make exclusive C14N repeat a 20 KB namespace
      // declaration on 1 000 elements (20 MB): refused up front, not built and then digested.
      const uri = `urn:${'x'.repeat(20_000)}`;
      const xml = replaceOnce(
        signedAssertionInResponse(),
        '</saml:Assertion>',
        `<p:e xmlns:p="${uri}">${'<p:a/>'.repeat(1_000)}</p:e></saml:Assertion>`.replace('<p:e xmlns:p', '<e xmlns:p').replace('</p:e>', '</e>'),
      );
      expectRefusal(() => verifyXml(xml, { id: '_assertion-1' }, [getPinnedKey(idp.certPem)]), 'SSO_MALFORMED', /would canonicalise to over/);
    });

    it('SignedInfo is canonicalised before any key vouches for it, so it holds nothing the profile does not name', () => {
      const uri = `urn:${'x'.repeat(20_000)}`;
      const blowUp = `<e xmlns:p="${uri}">${'<p:a/>'.repeat(1_000)}</e>`;
      const inSignedInfo = replaceOnce(signedResponse(), '<ds:CanonicalizationMethod', `${blowUp}<ds:CanonicalizationMethod`);
      expectRefusal(() => verifyXml(inSignedInfo, 'root', [getPinnedKey(idp.certPem)]), 'SSO_SIGNATURE', /found \{\}e/);
      const inPrefixList = replaceOnce(
        signedResponse({ signedInfoPrefixList: ['saml'] }),
        /(<InclusiveNamespaces [^>]*)\/>/,
        `$1>${blowUp}</InclusiveNamespaces>`,
      );
      expectRefusal(() => verifyXml(inPrefixList, 'root', [getPinnedKey(idp.certPem)]), 'SSO_SIGNATURE', /unexpected \{[^}]*\}e in InclusiveNamespaces/);
    });

    it('xml-crypto trusting KeyInfo (the legacy mistake) accepts an attacker\'s self-signed key; we never read KeyInfo', () => {
      const xml = signXml(samlResponseXml({ nameId: 'admin@example.com' }), { key: attacker, id: '_response-1' });
      assert.equal(xmlCryptoOracle(xml, 'root', idp.certPem, { trustKeyInfo: true }).accepted, true);
      expectRefusal(() => verifyXml(xml, 'root', [getPinnedKey(idp.certPem)]), 'SSO_SIGNATURE', /not verified/);
    });

    it('no trusted key at all', () => {
      expectRefusal(() => verifyXml(signedResponse(), 'root', []), 'SSO_SIGNATURE', /no trusted key/);
    });
  });

  describe('findDirectSignature', () => {
    it('finds only a direct child in the dsig namespace', () => {
      const doc = parseXmlStrict(signedAssertionInResponse());
      assert.equal(findDirectSignature(doc.documentElement!), null, 'the Assertion signature is not the Response\'s');
      const sig = findDirectSignature(assertionOf(doc));
      assert.equal(sig?.namespaceURI, DSIG_NS);
      const foreign = parseXmlStrict('<r ID="a"><x:Signature xmlns:x="urn:not-dsig"/></r>');
      assert.equal(findDirectSignature(foreign.documentElement!), null);
    });
  });

  describe('node-saml validatePostResponseAsync on full Responses', () => {
    function sp(): SAML {
      return new SAML({
        callbackUrl: ACS_URL,
        idpCert: idp.certPem,
        issuer: SP_ENTITY_ID,
        audience: SP_ENTITY_ID,
        wantAssertionsSigned: false,
        wantAuthnResponseSigned: true,
        validateInResponseTo: ValidateInResponseTo.never,
      });
    }
    const post = (xml: string) => ({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') });

    it('agrees on a valid signed Response and reads the same NameID', async () => {
      const xml = signedResponse();
      const ours = verifyXml(xml, 'root', [getPinnedKey(idp.certPem)]);
      const { profile } = await sp().validatePostResponseAsync(post(xml));
      assert.equal(profile?.nameID, textContent(ours.element.getElementsByTagNameNS(SAML_NS, 'NameID').item(0)!));
    });

    it('agrees on refusing a wrapped Response (XSW via samlp:Extensions)', async () => {
      const xml = signedResponse();
      const sig = signatureXml(xml);
      const wrapped = samlResponseXml({ responseId: '_evil', assertionId: '_evil-a', nameId: 'admin@example.com' }).replace(
        '</saml:Issuer>',
        `</saml:Issuer>${sig}<samlp:Extensions>${xml.replace(sig, '')}</samlp:Extensions>`,
      );
      expectRefusal(() => verifyXml(wrapped, 'root', [getPinnedKey(idp.certPem)]), 'SSO_SIGNATURE', /Reference URI/);
      await assert.rejects(sp().validatePostResponseAsync(post(wrapped)), /Invalid signature|Referenced node/);
    });
  });
});

function expectRefusal(fn: () => unknown, code: SsoErrorCode, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SsoError, `expected SsoError, got ${String(err)}`);
    assert.equal(err.code, code, `wrong code (reason: ${err.reason})`);
    assert.match(err.reason, reason);
    return true;
  });
}
