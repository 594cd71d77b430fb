/**
 * Signature wrapping, comment injection and namespace confusion through HTTP (R-SAML-3,
 * R-SAML-10: "everything the bridge reads is read from the signed content").
 *
 * Mallory has a real account at the IdP; the IdP signs an assertion for her. She edits the
 * signed message in her browser before it reaches the ACS, to sign in as Victim, whose account
 * exists in the org. Each attack ends one of two ways, stated per case with the reason:
 * - refused, with its exact code, nothing created (assertRefused);
 * - accepted, when the edit lies outside what was signed and consumed: then the session and the
 *   account are Mallory's — the SIGNED identity — never Victim's.
 * After every attack Victim has no session.
 */
import assert from 'node:assert/strict';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { newSamlId } from '../../../src/saml/authn-request.js';
import type { SsoErrorCode } from '../../../src/saml/sso-error.js';
import { NS } from '../../../src/saml/namespaces.js';
import { testEngines } from '../../support/databases.js';
import { assertRefused, assertSignedIn, startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';
import type { BuildResponseOptions } from '../../support/test-idp.js';

const VICTIM = 'victim@example.com';
const MALLORY = 'mallory@example.com';

// ---------------------------------------------------------------------------------------------
// DOM surgery on the signed XML text (xmldom, the parser IdPs in the wild use)

function parse(xml: string): Document {
  return new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') throw new Error(msg);
    },
  }).parseFromString(xml, 'text/xml');
}

const serialize = (node: Document | Element) => new XMLSerializer().serializeToString(node);

function children(el: Element | Document, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const e = n as Element;
    if (localName === undefined || (e.namespaceURI === ns && e.localName === localName)) out.push(e);
  }
  return out;
}

function descendants(el: Element | Document, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (const c of children(el)) {
    if (c.namespaceURI === ns && c.localName === localName) out.push(c);
    out.push(...descendants(c, ns, localName));
  }
  return out;
}

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `expected one ${what}`);
  return items[0]!;
}

function setText(el: Element, text: string): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(text));
}

/** Victim's copy of a signed assertion: no signature, Victim's NameID and attributes, a new ID unless kept. */
function evilTwin(signed: Element, opts: { keepId?: boolean } = {}): Element {
  const evil = signed.cloneNode(true) as Element;
  for (const sig of children(evil, NS.ds, 'Signature')) evil.removeChild(sig);
  if (!opts.keepId) evil.setAttribute('ID', newSamlId());
  setText(only(descendants(evil, NS.saml, 'NameID'), 'NameID'), VICTIM);
  for (const attribute of descendants(evil, NS.saml, 'Attribute')) {
    const value = only(children(attribute, NS.saml, 'AttributeValue'), 'AttributeValue');
    const name = attribute.getAttribute('Name');
    if (name === 'uid' || name === 'email') setText(value, VICTIM);
  }
  return evil;
}

interface Parts {
  doc: Document;
  response: Element;
  /** The Response's direct-child saml:Assertion (signed, in the assertion-signed cases). */
  assertion: Element;
}

function edit(xml: string, change: (p: Parts) => void): string {
  const doc = parse(xml);
  const response = doc.documentElement!;
  const assertion = only(children(response, NS.saml, 'Assertion'), 'Assertion');
  change({ doc, response, assertion });
  const out = serialize(doc);
  assert.notEqual(out, xml, 'the attack changed nothing');
  return out;
}

/** samlp:Extensions in its schema place (after Issuer and Signature), created when absent. */
function extensionsOf(response: Element): Element {
  const existing = children(response, NS.samlp, 'Extensions')[0];
  if (existing) return existing;
  const ext = response.ownerDocument!.createElementNS(NS.samlp, 'samlp:Extensions');
  const status = only(children(response, NS.samlp, 'Status'), 'Status');
  response.insertBefore(ext, status);
  return ext;
}

function dsObject(doc: Document, content: Element): Element {
  const object = doc.createElementNS(NS.ds, 'ds:Object');
  object.appendChild(content);
  return object;
}

// ---------------------------------------------------------------------------------------------

type Expectation = { refused: SsoErrorCode } | { acceptedAs: 'signed' };

interface Attack {
  name: string;
  /** What is signed by the IdP before Mallory edits it. */
  signed: Pick<BuildResponseOptions, 'signAssertion' | 'signResponse'>;
  postSign: (xml: string) => string;
  expect: Expectation;
  why: string;
}

const ASSERTION_SIGNED = { signAssertion: true, signResponse: false } as const;
const RESPONSE_SIGNED = { signAssertion: false, signResponse: true } as const;

const ATTACKS: Attack[] = [
  {
    name: 'evil Assertion before the signed one',
    signed: ASSERTION_SIGNED,
    postSign: (xml) => edit(xml, ({ response, assertion }) => response.insertBefore(evilTwin(assertion), assertion)),
    expect: { refused: 'SSO_MALFORMED' },
    why: 'two Assertions in the Response: "exactly one Assertion"',
  },
  {
    name: 'evil Assertion after the signed one',
    signed: ASSERTION_SIGNED,
    postSign: (xml) => edit(xml, ({ response, assertion }) => response.appendChild(evilTwin(assertion))),
    expect: { refused: 'SSO_MALFORMED' },
    why: 'two Assertions in the Response',
  },
  {
    name: 'evil Assertion inside the signed one',
    signed: ASSERTION_SIGNED,
    postSign: (xml) => edit(xml, ({ assertion }) => assertion.appendChild(evilTwin(assertion))),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the signed Assertion now has other content: its digest no longer matches',
  },
  {
    name: 'signed Assertion moved into samlp:Extensions, evil one in its place',
    signed: ASSERTION_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ response, assertion }) => {
        const evil = evilTwin(assertion);
        response.replaceChild(evil, assertion);
        extensionsOf(response).appendChild(assertion);
      }),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the Assertion that would be consumed carries no signature, and the Response none either',
  },
  {
    name: 'signed Assertion moved into the evil one’s saml:Advice',
    signed: ASSERTION_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ doc, response, assertion }) => {
        const evil = evilTwin(assertion);
        const advice = doc.createElementNS(NS.saml, 'saml:Advice');
        const conditions = only(children(evil, NS.saml, 'Conditions'), 'Conditions');
        // Advice comes right after Conditions in the schema.
        evil.insertBefore(advice, conditions.nextSibling);
        response.replaceChild(evil, assertion);
        advice.appendChild(assertion);
      }),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the consumed (outer) Assertion is unsigned; a signature nested deeper signs something else',
  },
  {
    name: 'signed Assertion moved into a ds:Object of a copied Signature on the evil one',
    signed: ASSERTION_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ doc, response, assertion }) => {
        const evil = evilTwin(assertion);
        const signature = only(children(assertion, NS.ds, 'Signature'), 'Signature').cloneNode(true) as Element;
        const issuer = only(children(evil, NS.saml, 'Issuer'), 'Issuer');
        evil.insertBefore(signature, issuer.nextSibling);
        response.replaceChild(evil, assertion);
        signature.appendChild(dsObject(doc, assertion));
      }),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the Signature on the consumed Assertion references another ID (#signed), not the element it is on',
  },
  {
    name: 'duplicate IDs: evil twin with the signed ID before the signed Assertion',
    signed: ASSERTION_SIGNED,
    postSign: (xml) => edit(xml, ({ response, assertion }) => response.insertBefore(evilTwin(assertion, { keepId: true }), assertion)),
    expect: { refused: 'SSO_MALFORMED' },
    why: 'two Assertions (and the ID is no longer unique)',
  },
  {
    name: 'duplicate IDs: signed Assertion hidden in Extensions, evil twin with the same ID and the Signature in its place',
    signed: ASSERTION_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ response, assertion }) => {
        const evil = evilTwin(assertion, { keepId: true });
        const signature = only(children(assertion, NS.ds, 'Signature'), 'Signature');
        const issuer = only(children(evil, NS.saml, 'Issuer'), 'Issuer');
        evil.insertBefore(signature.cloneNode(true), issuer.nextSibling);
        response.replaceChild(evil, assertion);
        // Extensions precede the Assertion: an ID lookup taking the first match digests the signed copy.
        extensionsOf(response).appendChild(assertion);
      }),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the referenced ID is not unique in the document (and the evil content does not match the digest)',
  },
  {
    name: 'signed Response, evil Assertion added after signing',
    signed: RESPONSE_SIGNED,
    postSign: (xml) => edit(xml, ({ response, assertion }) => response.appendChild(evilTwin(assertion))),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the Response signature is checked before Assertions are counted, and its digest covers them all',
  },
  {
    name: 'signed Response, its Assertion replaced by an evil one',
    signed: RESPONSE_SIGNED,
    postSign: (xml) => edit(xml, ({ response, assertion }) => response.replaceChild(evilTwin(assertion), assertion)),
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'the Response digest covers the Assertion',
  },
  {
    name: 'signed Response, evil Assertion inside the Response Signature (ds:Object)',
    signed: RESPONSE_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ doc, response, assertion }) => {
        const signature = only(children(response, NS.ds, 'Signature'), 'Signature');
        signature.appendChild(dsObject(doc, evilTwin(assertion)));
      }),
    expect: { refused: 'SSO_SIGNATURE' },
    why:
      'the digest would still hold (the enveloped-signature transform removes the Signature), but the strict ' +
      'signature profile allows no ds:Object in a ds:Signature',
  },
  {
    name: 'signed Response wrapped: new unsigned Response with an evil Assertion, the signed one in its Extensions',
    signed: RESPONSE_SIGNED,
    postSign: (xml) => {
      const doc = parse(xml);
      const signedResponse = doc.documentElement!;
      const assertion = only(children(signedResponse, NS.saml, 'Assertion'), 'Assertion');
      const outer = signedResponse.cloneNode(false) as Element;
      outer.setAttribute('ID', newSamlId());
      for (const c of children(signedResponse)) {
        if (c.localName === 'Issuer' || c.localName === 'Status') outer.appendChild(c.cloneNode(true));
      }
      const ext = doc.createElementNS(NS.samlp, 'samlp:Extensions');
      outer.insertBefore(ext, children(outer, NS.samlp, 'Status')[0]!);
      outer.appendChild(evilTwin(assertion));
      doc.replaceChild(outer, signedResponse);
      ext.appendChild(signedResponse);
      return serialize(doc);
    },
    expect: { refused: 'SSO_SIGNATURE' },
    why: 'neither the root Response nor its Assertion is signed; the signature inside Extensions signs another element',
  },
  {
    name: 'namespace confusion: an Assertion-lookalike in another namespace (saml: rebound) before the signed one',
    signed: ASSERTION_SIGNED,
    postSign: (xml) =>
      edit(xml, ({ response, assertion }) => {
        // Re-parse Victim's twin with `saml` bound to a foreign namespace on the element itself.
        const twin = serialize(evilTwin(assertion)).replace(`xmlns:saml="${NS.saml}"`, 'xmlns:saml="urn:evil:assertion"');
        const fake = response.ownerDocument!.importNode(parse(twin).documentElement!, true);
        assert.equal((fake as Element).namespaceURI, 'urn:evil:assertion');
        response.insertBefore(fake, assertion);
      }),
    expect: { acceptedAs: 'signed' },
    why:
      'elements are matched by namespace URI, not prefix: the lookalike is not a SAML Assertion, so the one Assertion ' +
      'is the signed one and its content is what is consumed',
  },
  {
    name: 'namespace confusion: saml: rebound on the Response root, lookalike before the signed Assertion',
    signed: ASSERTION_SIGNED,
    postSign: (xml) => {
      // The root's saml: now means urn:evil; the signed Assertion declares the real one itself,
      // and so, after this edit, does the Response's Issuer: only the lookalike is affected.
      const rebound = xml
        .replace(`xmlns:saml="${NS.saml}"`, 'xmlns:saml="urn:evil:assertion"')
        .replace('<saml:Issuer>', `<saml:Issuer xmlns:saml="${NS.saml}">`);
      const lookalike = serialize(evilTwin(only(children(parse(xml).documentElement!, NS.saml, 'Assertion'), 'Assertion')))
        .replace(` xmlns:saml="${NS.saml}"`, '');
      const out = rebound.replace(/<saml:Assertion /, `${lookalike}<saml:Assertion `);
      const root = parse(out).documentElement!;
      assert.equal(children(root, 'urn:evil:assertion', 'Assertion').length, 1, 'the lookalike is in the foreign namespace');
      assert.equal(children(root, NS.saml, 'Assertion').length, 1, 'one real Assertion');
      return out;
    },
    expect: { acceptedAs: 'signed' },
    why:
      'a prefix means what its nearest declaration says: under the rebound saml: the lookalike is {urn:evil}Assertion, ' +
      'so the only SAML Assertion is the signed one',
  },
];

for (const engine of testEngines()) {
  describe(`ACS: signature wrapping, comment injection, namespace confusion [${engine.name}]`, function () {
    this.timeout(180_000);
    let s: SamlScenario;
    let victimId: string;
    const mallory = {
      nameId: MALLORY,
      attributes: { uid: 'mallory', email: MALLORY, firstname: 'Mallory', lastname: 'Attacker' },
    };

    before(async () => {
      s = await startSamlScenario({ engine, domains: ['example.com'] });
      victimId = (await s.createAccount({ uid: VICTIM, email: VICTIM, firstname: 'Vic', lastname: 'Tim' })).id;
    });
    after(() => s?.close());

    afterEach(async function () {
      // DEBUG_ACS=1 prints the logged reason of the last refusals when a case fails.
      if (process.env.DEBUG_ACS && this.currentTest?.state === 'failed') {
        console.log(s.t.logs.lines.filter((l) => /sso sign-in/.test(l)).slice(-3).join('\n'));
      }
      const victimSessions = await s.t.ctx.database.db.selectFrom('saml_sessions').select('id_hash').where('account_id', '=', victimId).execute();
      assert.equal(victimSessions.length, 0, 'Victim must never get a session');
    });

    it('control: the untouched message, re-serialized by the same DOM code, signs Mallory in', async () => {
      for (const signed of [ASSERTION_SIGNED, RESPONSE_SIGNED]) {
        const r = await s.signIn({ ...mallory, ...signed, postSign: (xml) => serialize(parse(xml)) });
        const { account } = await assertSignedIn(s, r, { nameId: MALLORY });
        assert.equal(account.uid, 'mallory');
      }
    });

    for (const attack of ATTACKS) {
      const verdict = 'refused' in attack.expect ? `refused ${attack.expect.refused}` : 'accepted as the signed identity';
      it(`${attack.name}: ${verdict} (${attack.why})`, async () => {
        const r = await s.signIn({ ...mallory, ...attack.signed, postSign: attack.postSign });
        if ('refused' in attack.expect) {
          assertRefused(r, attack.expect.refused);
        } else {
          const { account } = await assertSignedIn(s, r, { nameId: MALLORY });
          assert.equal(account.uid, 'mallory');
          assert.notEqual(account.id, victimId);
        }
      });
    }

    describe('comments and processing instructions in the NameID', () => {
      const SIGNED_NAME = `${VICTIM}.evil.com`;
      const injector = (insert: string) => (xml: string) => {
        const out = xml.replace(`>${SIGNED_NAME}</saml:NameID>`, `>${VICTIM}${insert}.evil.com</saml:NameID>`);
        assert.notEqual(out, xml);
        return out;
      };
      // Mallory registered "victim@example.com.evil.com" at the IdP; her e-mail is in the org's domain.
      const signedUser = {
        nameId: SIGNED_NAME,
        attributes: { uid: SIGNED_NAME, email: 'mallory2@example.com', firstname: 'Mallory', lastname: 'Two' },
      };

      it('a comment added after signing: accepted, as the full signed value, never victim@example.com', async () => {
        // exc-c14n without comments drops the comment, so the signature holds; the bridge must read
        // the whole text of the canonical (signed) NameID, not the first text node.
        const r = await s.signIn({ ...signedUser, postSign: injector('<!---->') });
        const { account, session } = await assertSignedIn(s, r, { nameId: SIGNED_NAME });
        assert.equal(session.name_id, SIGNED_NAME);
        assert.notEqual(account.id, victimId);
        assert.equal(account.uid, SIGNED_NAME);
      });

      it('a comment inside the uid attribute value too: the account keeps the full value', async () => {
        const r = await s.signIn({
          ...signedUser,
          postSign: (xml) => {
            const out = injector('<!-- x -->')(xml).replace(`>${SIGNED_NAME}</saml:AttributeValue>`, `>${VICTIM}<!---->.evil.com</saml:AttributeValue>`);
            assert.ok(out.includes(`${VICTIM}<!---->.evil.com</saml:AttributeValue>`));
            return out;
          },
        });
        const { account } = await assertSignedIn(s, r, { nameId: SIGNED_NAME });
        assert.equal(account.uid, SIGNED_NAME);
        assert.notEqual(account.id, victimId);
      });

      // xml-crypto 6.3.2's C14N writes a processing instruction as its bare data, as if it were
      // text (C14N says `<?target data?>`). The bridge digests with xml-crypto's classes and then
      // reads only those canonical bytes, so a PI can never hide part of the signed value from it.
      it('a PI whose data restores the signed text, added after signing: the digest holds, accepted as the full signed value', async () => {
        // Canonically `victim@example.com` + `.evil.com`: the bytes the IdP signed. A reader of the
        // received DOM (text nodes only) would see `victim@example.com`; the bridge must not.
        const r = await s.signIn({
          ...signedUser,
          postSign: (xml) => {
            const out = xml.replace(`>${SIGNED_NAME}</saml:NameID>`, `>${VICTIM}<?evil .evil.com?></saml:NameID>`);
            assert.notEqual(out, xml);
            return out;
          },
        });
        const { account, session } = await assertSignedIn(s, r, { nameId: SIGNED_NAME });
        assert.equal(session.name_id, SIGNED_NAME);
        assert.notEqual(account.id, victimId);
      });

      it('a PI with other data added after signing: refused SSO_SIGNATURE (the canonical bytes change)', async () => {
        assertRefused(await s.signIn({ ...signedUser, postSign: injector('<?evil x?>') }), 'SSO_SIGNATURE');
      });

      it('a PI without data added after signing: refused SSO_SIGNATURE (xml-crypto cannot canonicalize it)', async () => {
        assertRefused(await s.signIn({ ...signedUser, postSign: injector('<?evil?>') }), 'SSO_SIGNATURE');
      });

      it('a PI the IdP signed: accepted, as the canonical signed text, never victim@example.com', async () => {
        const r = await s.signIn({
          nameId: SIGNED_NAME,
          // Another IdP user (own uid and e-mail): whichever text is read, a new account is made.
          attributes: { uid: 'pi-signer', email: 'mallory3@example.com', firstname: 'Mallory', lastname: 'Three' },
          mutate: (doc) => {
            const nameId = only(descendants(doc, NS.saml, 'NameID'), 'NameID');
            setText(nameId, VICTIM);
            nameId.appendChild(doc.createProcessingInstruction('pi', 'data'));
            nameId.appendChild(doc.createTextNode('.evil.com'));
          },
        });
        // What xml-crypto signed and digested is `victim@example.comdata.evil.com` (the PI as its
        // data); a C14N-conformant library would give `victim@example.com.evil.com`. Either is the
        // signed value; Victim's address is neither.
        const outcome = r.outcome;
        assert.ok(outcome.ok, `expected a sign-in, got ${outcome.ok ? '' : outcome.code}`);
        const session = await s.sessionFor(outcome.sessionCookie);
        assert.ok(session);
        assert.ok([`${VICTIM}data.evil.com`, SIGNED_NAME].includes(session.name_id), session.name_id);
        assert.notEqual(session.account_id, victimId);
      });

      it('a comment the IdP signed (exc-c14n drops it from the digest): accepted as the full value', async () => {
        const r = await s.signIn({
          ...signedUser,
          mutate: (doc) => {
            const nameId = only(descendants(doc, NS.saml, 'NameID'), 'NameID');
            setText(nameId, VICTIM);
            nameId.appendChild(doc.createComment(''));
            nameId.appendChild(doc.createTextNode('.evil.com'));
          },
        });
        const { account } = await assertSignedIn(s, r, { nameId: SIGNED_NAME });
        assert.notEqual(account.id, victimId);
      });
    });
  });
}
