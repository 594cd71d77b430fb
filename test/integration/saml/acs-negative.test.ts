/**
 * R-SAML-3 through HTTP: one crafted Response per rule, each otherwise valid, posted to
 * `POST /sso/:org/saml/acs`. Every refusal must show its exact §9 code (on the error page or
 * in the `errorCode` of the redirect to the org's error URL) and leave nothing behind: no
 * `fedbridge_session` cookie, no session row, no new account (`assertRefused`). Where a rule
 * has a tolerance (clock skew) or a switch (allowSha1, IdP-initiated), the accepted side is
 * shown too, so each refusal is known to come from that rule and not from something else.
 */
import assert from 'node:assert/strict';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { newSamlId } from '../../../src/saml/authn-request.js';
import { AUTHN_CONTEXT, DSIG_ALG, NS, STATUS } from '../../../src/saml/namespaces.js';
import { testEngines } from '../../support/databases.js';
import { assertRefused, assertSignedIn, ssoOutcome, startSamlScenario, tamperCbcCiphertext, type SamlScenario } from '../../support/saml-scenario.js';
import { generateTestKeyPair } from '../../support/test-idp.js';

const MINUTE = 60_000;
const SKEW_MS = 180_000; // the default clockSkewSeconds

function parse(xml: string): Document {
  return new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') throw new Error(msg);
    },
  }).parseFromString(xml, 'text/xml');
}

function elementsNamed(root: Element | Document, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  const walk = (node: Element | Document) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType !== 1) continue;
      const el = child as Element;
      if (el.namespaceURI === ns && el.localName === localName) out.push(el);
      walk(el);
    }
  };
  walk(root);
  return out;
}

const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

for (const engine of testEngines()) {
  describe(`ACS refuses what R-SAML-3 forbids, over HTTP [${engine.name}]`, function () {
    this.timeout(180_000);
    let s: SamlScenario;

    before(async () => {
      s = await startSamlScenario({ engine });
    });
    after(() => s?.close());

    it('baseline: a valid SP-initiated Response signs in (302 to the target, session cookie, account created)', async () => {
      const user = s.user('baseline');
      const target = `https://portal.${s.slug}/reports?q=1`;
      const r = await s.signIn({ nameId: user.nameId, attributes: user.attributes }, target);
      const { account, session } = await assertSignedIn(s, r, { nameId: user.nameId, location: target });
      assert.equal(r.after.accounts, r.before.accounts + 1, 'auto account creation made the account');
      assert.equal(account.email, user.nameId);
      assert.equal(account.role, 'member');
      assert.ok(Number(session.expires_at) > s.clock.now());
    });

    // ---------------------------------------------------------------------------------------
    describe('the message: size, encoding, DTDs [SSO_MALFORMED]', () => {
      const LIMIT = 256 * 1024;

      /** A validly signed Response answering a new AuthnRequest, padded so its base64 is `base64Length` long. */
      async function responseOfSize(base64Length: number) {
        const login = await s.startLogin();
        const u = s.user();
        const build = (pad: number) =>
          s.buildResponse({ ...u, inResponseTo: login.requestId, attributes: { ...u.attributes, bio: 'x'.repeat(pad) } });
        const probe = await build(1000);
        // base64 of n bytes is 4·ceil(n/3) characters; every padding 'x' is one byte of XML.
        const built = await build(1000 + (base64Length / 4) * 3 - Buffer.byteLength(probe.xml));
        assert.equal(built.base64.length, base64Length);
        return { built, login, user: u };
      }

      it('accepts a SAMLResponse of exactly 256 KiB of base64', async () => {
        const { built, login, user } = await responseOfSize(LIMIT);
        await assertSignedIn(s, await s.post(built.base64, login.relayState), { nameId: user.nameId });
      });

      it('refuses a SAMLResponse 4 bytes over 256 KiB (a validly signed Response made big by an attribute)', async () => {
        const { built, login } = await responseOfSize(LIMIT + 4);
        assertRefused(await s.post(built.base64, login.relayState), 'SSO_MALFORMED');
      });

      it('refuses a body far over the limit with the SSO error, not a bare 413', async () => {
        const { built, login } = await responseOfSize(LIMIT + 4);
        const r = await s.postForm({ SAMLResponse: built.base64, RelayState: login.relayState ?? '', padding: 'p'.repeat(200 * 1024) });
        assertRefused(r, 'SSO_MALFORMED');
      });

      it('refuses a SAMLResponse that is not base64', async () => {
        assertRefused(await s.postForm({ SAMLResponse: '<<not base64: really!>>' }), 'SSO_MALFORMED');
        assertRefused(await s.postForm({ SAMLResponse: 'PHNhbWxwOlJlc3BvbnNl*' }), 'SSO_MALFORMED', 'a stray character');
      });

      it('refuses a form without SAMLResponse, and base64 that is not XML', async () => {
        assertRefused(await s.postForm({ RelayState: 'x' }), 'SSO_MALFORMED', 'no SAMLResponse');
        assertRefused(await s.post(b64('this is plain text, not XML')), 'SSO_MALFORMED', 'not XML');
        const valid = await s.buildResponse();
        assertRefused(await s.post(b64(valid.xml.slice(0, -40))), 'SSO_MALFORMED', 'truncated XML');
      });

      it('refuses a DOCTYPE, with or without entities, in front of a validly signed Response', async () => {
        const built = await s.buildResponse();
        assertRefused(await s.post(b64(`<!DOCTYPE samlp:Response>${built.xml}`)), 'SSO_MALFORMED', 'bare DOCTYPE');
        assertRefused(
          await s.post(b64(`<!DOCTYPE samlp:Response [<!ENTITY who "victim">]>${built.xml}`)),
          'SSO_MALFORMED',
          'internal entity declared',
        );
        // An entity used inside the signed NameID: a parser that expanded it would read "victim…".
        const used = built.xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1&who;@example.com');
        assert.notEqual(used, built.xml);
        assertRefused(await s.post(b64(`<!DOCTYPE samlp:Response [<!ENTITY who "victim">]>${used}`)), 'SSO_MALFORMED', 'entity used');
        // The billion-laughs shape must be refused before any expansion.
        const laughs =
          '<!DOCTYPE samlp:Response [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>';
        assertRefused(await s.post(b64(`${laughs}${built.xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1&d;')}`)), 'SSO_MALFORMED', 'entity expansion');
      });

      it('refuses external entities and an external DTD (SYSTEM), without fetching or showing them', async () => {
        const built = await s.buildResponse();
        const xxe = built.xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1&xxe;');
        const r1 = await s.post(b64(`<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xxe}`));
        assertRefused(r1, 'SSO_MALFORMED', 'SYSTEM entity');
        assert.doesNotMatch(r1.res.text ?? '', /root:/, 'the file must not be read into the answer');
        assertRefused(
          await s.post(b64(`<!DOCTYPE samlp:Response SYSTEM "http://127.0.0.1:9/evil.dtd">${built.xml}`)),
          'SSO_MALFORMED',
          'external DTD',
        );
        assertRefused(
          await s.post(b64(`<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>${built.xml}`)),
          'SSO_MALFORMED',
          'parameter entity',
        );
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('the envelope and the IdP status', () => {
      it('refuses a root that is not samlp:Response (a bare signed Assertion, an AuthnRequest) [SSO_MALFORMED]', async () => {
        const built = await s.buildResponse();
        const assertion = elementsNamed(parse(built.xml), NS.saml, 'Assertion')[0]!;
        // The Assertion declares its own namespaces, so alone it is still validly signed.
        assertRefused(await s.post(b64(new XMLSerializer().serializeToString(assertion))), 'SSO_MALFORMED', 'bare Assertion');
        const login = await s.startLogin();
        assertRefused(await s.post(b64(login.xml), login.relayState), 'SSO_MALFORMED', 'our own AuthnRequest sent back');
      });

      it('refuses a Response in another namespace (SAML 1.x protocol, no namespace) [SSO_MALFORMED]', async () => {
        const built = await s.buildResponse();
        const saml1 = built.xml.replace(`xmlns:samlp="${NS.samlp}"`, 'xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol"');
        assert.notEqual(saml1, built.xml);
        assertRefused(await s.post(b64(saml1)), 'SSO_MALFORMED', 'SAML 1.0 protocol namespace');
        const noNs = built.xml.replace(/samlp:/g, '').replace(`xmlns:samlp="${NS.samlp}"`, '');
        assertRefused(await s.post(b64(noNs)), 'SSO_MALFORMED', 'no namespace');
      });

      it('refuses Version="1.1" on the Response [SSO_MALFORMED]', async () => {
        const built = await s.buildResponse({ mutate: (doc) => doc.documentElement!.setAttribute('Version', '1.1') });
        assertRefused(await s.post(built.base64), 'SSO_MALFORMED');
      });

      it('refuses a Responder status with SSO_IDP_STATUS and shows the IdP status code', async () => {
        const built = await s.buildResponse({
          status: { code: STATUS.responder, subCode: STATUS.authnFailed, message: 'bad password' },
          signResponse: true,
        });
        const r = await s.post(built.base64);
        assertRefused(r, 'SSO_IDP_STATUS');
        assert.ok(!r.outcome.ok && r.outcome.page, 'shown on the error page (no error URL configured)');
        assert.match(r.outcome.page!, /urn:oasis:names:tc:SAML:2\.0:status:Responder/, 'the page carries the IdP status code');
      });

      it('refuses a wrong Destination [SSO_DESTINATION], and accepts none (it is optional)', async () => {
        const wrong = await s.signIn({ destination: `https://sp.fedbridge.test/sso/other.example/saml/acs` });
        assertRefused(wrong, 'SSO_DESTINATION');
        const none = s.user('nodest');
        await assertSignedIn(s, await s.signIn({ ...none, omit: { destination: true } }), { nameId: none.nameId });
      });

      it('refuses a wrong Response Issuer [SSO_ISSUER]', async () => {
        assertRefused(await s.signIn({ issuer: 'https://evil.example/idp', assertionIssuer: s.idpEntityId }), 'SSO_ISSUER');
      });

      it('refuses a wrong Assertion Issuer [SSO_ISSUER]', async () => {
        assertRefused(await s.signIn({ issuer: s.idpEntityId, assertionIssuer: 'https://evil.example/idp' }), 'SSO_ISSUER');
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('decryption and the number of assertions', () => {
      it('refuses an EncryptedAssertion encrypted to another certificate [SSO_DECRYPT]', async () => {
        const stranger = generateTestKeyPair({ commonName: 'not-our-sp' });
        assertRefused(await s.signIn({ encryptTo: { certPem: stranger.certPem } }), 'SSO_DECRYPT');
      });

      it('accepts the same assertion encrypted to our exported service certificate (control)', async () => {
        const u = s.user('enc');
        await assertSignedIn(s, await s.signIn({ ...u, encryptTo: { certPem: s.serviceCertPem } }), { nameId: u.nameId });
      });

      it('answers exactly SSO_DECRYPT to tampered AES-128-CBC ciphertext in an unsigned Response: bad padding and garbage plaintext alike', async () => {
        // Jager–Somorovsky: without a Response signature the ciphertext is unauthenticated, so
        // "bad padding" and "plaintext is not XML" must look the same to the sender (one code);
        // only the log tells them apart.
        const aes128cbc = { certPem: s.serviceCertPem, algorithms: { content: 'aes128-cbc' as const } };
        const causes = { padding: /invalid padding/, plaintext: /SSO_MALFORMED/ } as const;
        for (const how of ['padding', 'plaintext'] as const) {
          const login = await s.startLogin();
          const built = await s.buildResponse({ inResponseTo: login.requestId, encryptTo: aes128cbc });
          const r = await s.post(b64(tamperCbcCiphertext(built.xml, how)), login.relayState);
          assertRefused(r, 'SSO_DECRYPT', `${how} tampered`);
          const correlationId = !r.outcome.ok ? r.outcome.correlationId : undefined;
          assert.ok(correlationId, 'a correlation id');
          const logged = s.t.logs.lines.filter((line) => line.includes(correlationId)).join('\n');
          assert.match(logged, causes[how], `${how}: the log keeps the cause`);
        }
        // Control: the same untampered AES-128-CBC Response signs in.
        const u = s.user('cbc');
        await assertSignedIn(s, await s.signIn({ ...u, encryptTo: aes128cbc }), { nameId: u.nameId });
      });

      it('refuses two Assertions [SSO_MALFORMED]', async () => {
        const r = await s.signIn({
          mutate: (doc) => {
            const a = elementsNamed(doc, NS.saml, 'Assertion')[0]!;
            const twin = a.cloneNode(true) as Element;
            twin.setAttribute('ID', newSamlId());
            a.parentNode!.appendChild(twin);
          },
        });
        assertRefused(r, 'SSO_MALFORMED');
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('the signature', () => {
      it('refuses a Response with no signature at all [SSO_SIGNATURE]', async () => {
        assertRefused(await s.signIn({ signAssertion: false, signResponse: false }), 'SSO_SIGNATURE');
      });

      it('refuses a signature by an untrusted key whose certificate is in KeyInfo [SSO_SIGNATURE]', async () => {
        const attacker = generateTestKeyPair({ commonName: 'test-idp' });
        assertRefused(await s.signIn({ signWith: attacker }), 'SSO_SIGNATURE', 'assertion signed by the attacker');
        assertRefused(await s.signIn({ signWith: attacker, signAssertion: false, signResponse: true }), 'SSO_SIGNATURE', 'response signed by the attacker');
        // The trusted certificate in KeyInfo does not make the attacker's signature valid either.
        assertRefused(
          await s.signIn({ signWith: attacker, signOptions: { keyInfo: { certPem: s.idp.certPem } } }),
          'SSO_SIGNATURE',
          'attacker signature, trusted certificate in KeyInfo',
        );
      });

      it('refuses a validly signed Response whose signed content was changed afterwards [SSO_SIGNATURE]', async () => {
        const edit = (xml: string) => {
          const edited = xml.replace(/(<saml:NameID[^>]*>)alice@/, '$1mallory@');
          assert.notEqual(edited, xml);
          return edited;
        };
        assertRefused(await s.signIn({ postSign: edit }), 'SSO_SIGNATURE', 'assertion signed, NameID edited');
        assertRefused(await s.signIn({ signAssertion: false, signResponse: true, postSign: edit }), 'SSO_SIGNATURE', 'response signed, NameID edited');
      });

      it('refuses RSA-SHA1 and a SHA-1 digest [SSO_WEAK_ALGORITHM]', async () => {
        assertRefused(await s.signIn({ sigAlg: DSIG_ALG.rsaSha1, digestAlg: DSIG_ALG.sha1 }), 'SSO_WEAK_ALGORITHM', 'rsa-sha1 + sha1');
        assertRefused(await s.signIn({ sigAlg: DSIG_ALG.rsaSha1 }), 'SSO_WEAK_ALGORITHM', 'rsa-sha1 signature, sha256 digest');
        assertRefused(await s.signIn({ digestAlg: DSIG_ALG.sha1 }), 'SSO_WEAK_ALGORITHM', 'rsa-sha256 signature, sha1 digest');
      });

      it('accepts SHA-1 when the org sets allowSha1', async () => {
        const legacy = await startSamlScenario({ app: s.t, idp: s.idp, sso: { allowSha1: true } });
        const u = legacy.user('sha1');
        await assertSignedIn(legacy, await legacy.signIn({ ...u, sigAlg: DSIG_ALG.rsaSha1, digestAlg: DSIG_ALG.sha1 }), { nameId: u.nameId });
      });

      it('refuses a WithComments transform or canonicalization [SSO_SIGNATURE]', async () => {
        assertRefused(
          await s.signIn({ signOptions: { transforms: [DSIG_ALG.envelopedSignature, DSIG_ALG.excC14nWithComments] } }),
          'SSO_SIGNATURE',
          'exc-c14n#WithComments transform',
        );
        assertRefused(
          await s.signIn({ signOptions: { transforms: [DSIG_ALG.envelopedSignature, DSIG_ALG.c14nWithComments] } }),
          'SSO_SIGNATURE',
          'c14n#WithComments transform',
        );
        assertRefused(
          await s.signIn({ signOptions: { canonicalization: DSIG_ALG.excC14nWithComments } }),
          'SSO_SIGNATURE',
          'SignedInfo canonicalized with comments',
        );
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('the subject', () => {
      it('refuses an assertion without NameID [SSO_NAMEID]', async () => {
        assertRefused(await s.signIn({ omit: { nameId: true } }), 'SSO_NAMEID');
      });

      it('refuses another NameID format when emailAddress is configured [SSO_NAMEID], accepts emailAddress', async () => {
        const strict = await startSamlScenario({ app: s.t, idp: s.idp, sso: { nameIdFormat: 'emailAddress' } });
        assertRefused(await strict.signIn({ nameIdFormat: 'persistent' }), 'SSO_NAMEID', 'persistent');
        assertRefused(await strict.signIn({ nameIdFormat: 'unspecified' }), 'SSO_NAMEID', 'unspecified');
        assertRefused(await strict.signIn({ omit: { nameIdFormat: true } }), 'SSO_NAMEID', 'no Format (means unspecified)');
        const u = strict.user('fmt');
        await assertSignedIn(strict, await strict.signIn({ ...u, nameIdFormat: 'emailAddress' }), { nameId: u.nameId });
      });

      it('refuses an assertion without a bearer SubjectConfirmation [SSO_SUBJECT_CONFIRMATION]', async () => {
        assertRefused(await s.signIn({ omit: { subjectConfirmation: true } }), 'SSO_SUBJECT_CONFIRMATION', 'none');
        const holderOfKey = await s.signIn({
          mutate: (doc) => {
            elementsNamed(doc, NS.saml, 'SubjectConfirmation')[0]!.setAttribute('Method', 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key');
          },
        });
        assertRefused(holderOfKey, 'SSO_SUBJECT_CONFIRMATION', 'holder-of-key only');
        assertRefused(await s.signIn({ omit: { subjectConfirmationData: true } }), 'SSO_SUBJECT_CONFIRMATION', 'bearer without data');
      });

      it('refuses a wrong or missing Recipient [SSO_SUBJECT_CONFIRMATION]', async () => {
        assertRefused(await s.signIn({ recipient: `https://sp.fedbridge.test/sso/other.example/saml/acs` }), 'SSO_SUBJECT_CONFIRMATION', 'wrong');
        assertRefused(await s.signIn({ omit: { recipient: true } }), 'SSO_SUBJECT_CONFIRMATION', 'missing');
      });

      it('refuses a SubjectConfirmationData NotOnOrAfter past beyond the skew, accepts it within [SSO_SUBJECT_CONFIRMATION]', async () => {
        const now = s.clock.now();
        assertRefused(await s.signIn({ subjectConfirmationNotOnOrAfter: now - SKEW_MS - 1000 }), 'SSO_SUBJECT_CONFIRMATION');
        const u = s.user('scskew');
        await assertSignedIn(s, await s.signIn({ ...u, subjectConfirmationNotOnOrAfter: now - SKEW_MS + 5000 }), { nameId: u.nameId });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('InResponseTo and unsolicited Responses', () => {
      it('refuses an InResponseTo that was never issued [SSO_SUBJECT_CONFIRMATION]', async () => {
        const login = await s.startLogin();
        const built = await s.buildResponse({ inResponseTo: newSamlId() });
        assertRefused(await s.post(built.base64, login.relayState), 'SSO_SUBJECT_CONFIRMATION');
      });

      it('refuses an InResponseTo issued for another organisation, and leaves that request usable there', async () => {
        const other = await startSamlScenario({ app: s.t, idp: s.idp });
        const theirs = await other.startLogin();
        // Fresh assertions each time: a refused Response burns its assertion ID (SSO_REPLAY if re-sent).
        const built = await s.buildResponse({ inResponseTo: theirs.requestId });
        assertRefused(await s.post(built.base64, theirs.relayState), 'SSO_SUBJECT_CONFIRMATION', 'their id at our ACS');
        const again = await s.buildResponse({ inResponseTo: theirs.requestId });
        assertRefused(await s.post(again.base64), 'SSO_SUBJECT_CONFIRMATION', 'their id at our ACS, no RelayState');
        // The other org's request was not consumed by our refusal: its rightful Response still works.
        const u = other.user('rightful');
        const rightful = await other.buildResponse({ ...u, inResponseTo: theirs.requestId });
        await assertSignedIn(other, await other.post(rightful.base64, theirs.relayState), { nameId: u.nameId });
      });

      it('refuses a second Response to an AuthnRequest already answered [SSO_SUBJECT_CONFIRMATION]', async () => {
        const login = await s.startLogin();
        const u = s.user('once');
        const first = await s.buildResponse({ ...u, inResponseTo: login.requestId });
        await assertSignedIn(s, await s.post(first.base64, login.relayState), { nameId: u.nameId });
        const second = await s.buildResponse({ ...u, inResponseTo: login.requestId }); // new Response and Assertion IDs
        assertRefused(await s.post(second.base64, login.relayState), 'SSO_SUBJECT_CONFIRMATION');
      });

      it('refuses an InResponseTo whose AuthnRequest expired (10 min) [SSO_SUBJECT_CONFIRMATION]', async () => {
        const login = await s.startLogin();
        s.clock.advance(10 * MINUTE + 1000);
        const built = await s.buildResponse({ inResponseTo: login.requestId });
        assertRefused(await s.post(built.base64, login.relayState), 'SSO_SUBJECT_CONFIRMATION');
      });

      it('refuses an unsolicited Response while IdP-initiated sign-in is off [SSO_UNSOLICITED]', async () => {
        assertRefused(await s.post((await s.buildResponse()).base64), 'SSO_UNSOLICITED');
      });

      it('with IdP-initiated on: accepts no InResponseTo, still refuses an unknown one', async () => {
        const open = await startSamlScenario({ app: s.t, idp: s.idp, sso: { idpInitiated: true } });
        const u = open.user('unsolicited');
        await assertSignedIn(open, await open.post((await open.buildResponse(u)).base64), { nameId: u.nameId });
        assertRefused(await open.post((await open.buildResponse({ inResponseTo: newSamlId() })).base64), 'SSO_SUBJECT_CONFIRMATION');
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('Conditions and AuthnStatement', () => {
      it('NotBefore in the future: refused beyond the skew [SSO_EXPIRED], accepted within', async () => {
        const now = s.clock.now();
        assertRefused(await s.signIn({ notBefore: now + SKEW_MS + 1000 }), 'SSO_EXPIRED');
        const u = s.user('nbskew');
        await assertSignedIn(s, await s.signIn({ ...u, notBefore: now + SKEW_MS - 5000 }), { nameId: u.nameId });
      });

      it('NotOnOrAfter passed on the clock: refused beyond the skew [SSO_EXPIRED], accepted within', async () => {
        // Issued now, valid 1 minute; the browser takes its time; the clock moves on.
        const loginLate = await s.startLogin();
        const late = await s.buildResponse({ inResponseTo: loginLate.requestId, notOnOrAfter: s.clock.now() + MINUTE, subjectConfirmationNotOnOrAfter: s.clock.now() + 10 * MINUTE });
        s.clock.advance(MINUTE + SKEW_MS + 1000);
        assertRefused(await s.post(late.base64, loginLate.relayState), 'SSO_EXPIRED');

        const u = s.user('noaskew');
        const login = await s.startLogin();
        const inTime = await s.buildResponse({ ...u, inResponseTo: login.requestId, notOnOrAfter: s.clock.now() + MINUTE, subjectConfirmationNotOnOrAfter: s.clock.now() + 10 * MINUTE });
        s.clock.advance(MINUTE + SKEW_MS - 5000);
        await assertSignedIn(s, await s.post(inTime.base64, login.relayState), { nameId: u.nameId });
      });

      it('refuses a wrong or missing Audience [SSO_AUDIENCE], accepts ours among others', async () => {
        assertRefused(await s.signIn({ audience: 'https://other-sp.example' }), 'SSO_AUDIENCE', 'wrong');
        assertRefused(await s.signIn({ omit: { audienceRestriction: true } }), 'SSO_AUDIENCE', 'no AudienceRestriction');
        const u = s.user('aud');
        await assertSignedIn(s, await s.signIn({ ...u, audience: ['https://other-sp.example', s.spEntityId] }), { nameId: u.nameId });
      });

      it('refuses an assertion without AuthnStatement [SSO_AUTHN_CONTEXT]', async () => {
        assertRefused(await s.signIn({ omit: { authnStatement: true } }), 'SSO_AUTHN_CONTEXT');
      });

      it('refuses another AuthnContextClassRef than the configured one [SSO_AUTHN_CONTEXT], accepts it', async () => {
        const strict = await startSamlScenario({ app: s.t, idp: s.idp, sso: { authnContextClassRef: AUTHN_CONTEXT.x509 } });
        assertRefused(await strict.signIn({ authnContextClassRef: AUTHN_CONTEXT.passwordProtectedTransport }), 'SSO_AUTHN_CONTEXT', 'other class');
        assertRefused(await strict.signIn({ omit: { authnContext: true } }), 'SSO_AUTHN_CONTEXT', 'no AuthnContext');
        const u = strict.user('x509');
        await assertSignedIn(strict, await strict.signIn({ ...u, authnContextClassRef: AUTHN_CONTEXT.x509 }), { nameId: u.nameId });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('replay', () => {
      it('the same IdP-initiated Response posted twice: signed in once, then SSO_REPLAY', async () => {
        const open = await startSamlScenario({ app: s.t, idp: s.idp, sso: { idpInitiated: true } });
        const u = open.user('replayed');
        const built = await open.buildResponse(u);
        await assertSignedIn(open, await open.post(built.base64), { nameId: u.nameId });
        assertRefused(await open.post(built.base64), 'SSO_REPLAY');
      });

      it('an assertion ID already consumed, in a new Response to a new AuthnRequest: SSO_REPLAY', async () => {
        const u = s.user('replay2');
        const first = await s.signIn(u);
        await assertSignedIn(s, first, { nameId: u.nameId });
        const login = await s.startLogin();
        const again = await s.buildResponse({ ...u, inResponseTo: login.requestId, assertionId: first.built.assertionId });
        assertRefused(await s.post(again.base64, login.relayState), 'SSO_REPLAY');
      });

      it('the replay cache is shared through the database: a second app on the same database refuses it too', async () => {
        // Two instances behind a load balancer are two apps over one database (R-OPS-2).
        const open = await startSamlScenario({ app: s.t, idp: s.idp, sso: { idpInitiated: true } });
        const u = open.user('shared');
        const built = await open.buildResponse(u);
        await assertSignedIn(open, await open.post(built.base64), { nameId: u.nameId });
        const second = await createApp({
          config: s.t.ctx.config,
          clock: s.t.clock,
          logger: s.t.ctx.logger,
          database: s.t.database.handle,
          masterKey: s.t.ctx.masterKey,
        });
        const before = await open.counts();
        const res = await request(second.app).post(open.acsPath).type('form').send({ SAMLResponse: built.base64 }).redirects(0);
        assertRefused({ res, outcome: ssoOutcome(res), before, after: await open.counts() }, 'SSO_REPLAY');
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('how refusals are shown (R-ERR-1)', () => {
      it('with an error URL: 302 there with errorCode appended to its query, nothing created', async () => {
        const withUrl = await startSamlScenario({ app: s.t, idp: s.idp, sso: { errorUrl: 'https://help.acme.example/sso-error?lang=en' } });
        const r = await withUrl.signIn({ signAssertion: false });
        assertRefused(r, 'SSO_SIGNATURE');
        assert.ok(!r.outcome.ok && r.outcome.via === 'redirect');
        const url = new URL(r.res.headers.location!);
        assert.equal(`${url.origin}${url.pathname}`, 'https://help.acme.example/sso-error');
        assert.equal(url.searchParams.get('lang'), 'en', 'the existing query string is kept');
        assert.equal(url.searchParams.get('errorCode'), 'SSO_SIGNATURE');
      });

      it('without: an HTML page with the code and a correlation id that is also in the log', async () => {
        const r = await s.signIn({ signAssertion: false });
        assertRefused(r, 'SSO_SIGNATURE');
        assert.ok(!r.outcome.ok && r.outcome.via === 'page' && r.outcome.correlationId);
        assert.match(String(r.res.headers['content-type']), /text\/html/);
        assert.ok(s.t.logs.text().includes(r.outcome.correlationId!), 'the correlation id leads to the logged reason');
      });
    });
  });
}
