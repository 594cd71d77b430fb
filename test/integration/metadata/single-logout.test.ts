/**
 * Single Logout (R-SAML-9) over HTTP on every engine. The org trusts the test IdP and knows
 * its SLO endpoint from imported metadata. SP-initiated: `POST /logout` ends the session and
 * its refresh tokens and sends a LogoutRequest signed with the active service key; the IdP's
 * LogoutResponse must be signed and answer that request (once). IdP-initiated: a signed
 * LogoutRequest revokes the sessions it names (and only those, once: a replay is refused) and
 * is answered with a signed LogoutResponse.
 * The IdP side of every message is written here by hand (not with our builders).
 */
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import request from 'supertest';
import { decodeRedirect, encodeRedirect } from '../../../src/saml/redirect-binding.js';
import { testEngines } from '../../support/databases.js';
import { sessionCookieOf, startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';
import { TEST_PUBLIC_URL } from '../../support/test-app.js';
import { generateTestKeyPair, signElementById } from '../../support/test-idp.js';
import { exchangeCookie, listen, NATIVE_CLIENT, refresh, registerClient, type Harness } from '../oauth/oauth-harness.js';
import { auth } from './metadata-fixtures.js';

const IDP_SLO = 'https://idp.test.example/slo';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomBytes(16).toString('hex')}`;

function parse(xml: string) {
  return new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
}

function clearsCookie(res: request.Response): boolean {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []).some((c) => /^fedbridge_session=;/.test(c) && /Expires=Thu, 01 Jan 1970/i.test(c));
}

for (const engine of testEngines()) {
  describe(`single logout [${engine.name}]`, function () {
    this.timeout(60_000);
    let s: SamlScenario;
    let h: Harness;
    let sloPath: string;
    let sloUrl: string;

    before(async () => {
      s = await startSamlScenario({ engine });
      const md = s.idp.metadataXml({ ssoUrl: 'https://idp.test.example/sso', sloUrl: IDP_SLO });
      const r = await request(s.t.app).post(`/api/v1/orgs/${s.slug}/sso/metadata`).set(auth(s.adminKey)).set('Content-Type', 'text/xml').send(md);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      sloPath = `/sso/${s.slug}/saml/slo`;
      sloUrl = `${TEST_PUBLIC_URL}${sloPath}`;
      h = await listen(s.t, { id: s.orgId, slug: s.slug }, { closeApp: false });
    });
    after(async () => {
      await h?.close();
      await s?.close();
    });

    const servicePublicKey = () => new X509Certificate(s.serviceCertPem).publicKey;

    /** A signed-in user: returns the cookie and the SessionIndex the IdP gave. */
    async function signIn(local = `u${randomBytes(3).toString('hex')}`, sessionIndex = newId()) {
      const user = s.user(local);
      // The imported metadata made emailAddress the NameID format.
      const result = await s.signIn({ nameId: user.nameId, nameIdFormat: 'emailAddress', attributes: user.attributes, sessionIndex });
      assert.ok(result.outcome.ok, JSON.stringify(result.outcome));
      return { cookie: result.outcome.sessionCookie, nameId: user.nameId, sessionIndex };
    }
    const sessionRow = (cookie: string) => s.sessionFor(cookie);

    function idpLogoutRequest(opts: { nameId: string; sessionIndex?: string; issuer?: string; destination?: string; issueInstant?: number }) {
      const id = newId();
      const xml =
        `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${instant(opts.issueInstant ?? s.clock.now())}" ` +
        `Destination="${opts.destination ?? sloUrl}"><saml:Issuer>${opts.issuer ?? s.idpEntityId}</saml:Issuer>` +
        `<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${opts.nameId}</saml:NameID>` +
        (opts.sessionIndex ? `<samlp:SessionIndex>${opts.sessionIndex}</samlp:SessionIndex>` : '') +
        `</samlp:LogoutRequest>`;
      return { id, xml };
    }

    function idpLogoutResponse(inResponseTo: string, status = SUCCESS) {
      return (
        `<samlp:LogoutResponse xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${newId()}" Version="2.0" IssueInstant="${instant(s.clock.now())}" ` +
        `Destination="${sloUrl}" InResponseTo="${inResponseTo}"><saml:Issuer>${s.idpEntityId}</saml:Issuer>` +
        `<samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status></samlp:LogoutResponse>`
      );
    }

    /** GET to our SLO endpoint with a Redirect-binding message, signed by `key` (the IdP's by default). */
    function redirectToUs(kind: 'SAMLRequest' | 'SAMLResponse', xml: string, opts: { key?: string | null; cookie?: string; relayState?: string } = {}) {
      const key = opts.key === undefined ? s.idp.keyPair.privateKeyPem : opts.key;
      const url = encodeRedirect({
        endpoint: sloUrl,
        message: xml,
        kind,
        ...(opts.relayState !== undefined ? { relayState: opts.relayState } : {}),
        ...(key ? { signingKey: key } : {}),
      });
      const req = request(s.t.app).get(url.slice(TEST_PUBLIC_URL.length)).redirects(0);
      return opts.cookie ? req.set('Cookie', `fedbridge_session=${opts.cookie}`) : req;
    }

    /** Our LogoutRequest from a 302 to the IdP: query signature checked with the service certificate. */
    function sentLogoutRequest(res: request.Response) {
      assert.equal(res.status, 302, res.text);
      const location = res.headers.location as string;
      assert.ok(location.startsWith(`${IDP_SLO}?`), location);
      const decoded = decodeRedirect(location.slice(location.indexOf('?')), { verifyKeys: [servicePublicKey()] });
      assert.equal(decoded.kind, 'SAMLRequest');
      assert.equal(decoded.verified, true);
      const root = parse(decoded.xml);
      assert.equal(root.localName, 'LogoutRequest');
      return { root, relayState: decoded.relayState, id: root.getAttribute('ID')! };
    }

    it('POST /logout: session and refresh tokens revoked, cookie cleared, signed LogoutRequest with NameID and SessionIndex', async () => {
      const { cookie, nameId, sessionIndex } = await signIn();
      const client = await registerClient(h, { ...NATIVE_CLIENT, name: `slo-${randomBytes(2).toString('hex')}` });
      const tokens = await exchangeCookie(h, client.clientId, cookie, { scope: 'openid offline_access' });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.ok(tokens.body.refresh_token, 'a refresh token to revoke');

      const res = await request(s.t.app).post('/logout').set('Cookie', `fedbridge_session=${cookie}`).redirects(0);
      const sent = sentLogoutRequest(res);
      assert.ok(clearsCookie(res), 'the cookie is cleared');
      assert.equal(sent.root.getAttribute('Destination'), IDP_SLO);
      assert.equal(sent.root.getElementsByTagNameNS(SAML, 'Issuer')[0]?.textContent, s.spEntityId);
      assert.equal(sent.root.getElementsByTagNameNS(SAML, 'NameID')[0]?.textContent, nameId);
      assert.equal(sent.root.getElementsByTagNameNS(SAMLP, 'SessionIndex')[0]?.textContent, sessionIndex);
      assert.ok(sent.relayState && sent.relayState.length <= 80);

      const row = await sessionRow(cookie);
      assert.notEqual(row?.revoked_at, null, 'the session is revoked');
      const refreshed = await refresh(h, client.clientId, tokens.body.refresh_token);
      assert.equal(refreshed.status, 400, 'the refresh token died with the session');
      assert.equal(refreshed.body.error, 'invalid_grant');
      const again = await exchangeCookie(h, client.clientId, cookie);
      assert.equal(again.status, 400, 'the cookie no longer exchanges');

      // The IdP answers (Redirect, signed): the signed-out page; the same answer again is refused.
      const answer = idpLogoutResponse(sent.id);
      const done = await redirectToUs('SAMLResponse', answer, { relayState: sent.relayState! });
      assert.equal(done.status, 200, done.text);
      assert.match(done.text, /You have signed out/);
      const replay = await redirectToUs('SAMLResponse', answer, { relayState: sent.relayState! });
      assert.match(replay.text, /SSO_SUBJECT_CONFIRMATION/);
    });

    it('LogoutResponse refusals: unsigned, signed by another key, for a request never sent, from another issuer', async () => {
      const { cookie } = await signIn();
      const sent = sentLogoutRequest(await request(s.t.app).post('/logout').set('Cookie', `fedbridge_session=${cookie}`).redirects(0));
      const stranger = generateTestKeyPair();
      const cases: Array<[string, request.Test, string]> = [
        ['unsigned', redirectToUs('SAMLResponse', idpLogoutResponse(sent.id), { key: null }), 'SSO_SIGNATURE'],
        ['another key', redirectToUs('SAMLResponse', idpLogoutResponse(sent.id), { key: stranger.privateKeyPem }), 'SSO_SIGNATURE'],
        ['unknown InResponseTo', redirectToUs('SAMLResponse', idpLogoutResponse('_never_sent')), 'SSO_SUBJECT_CONFIRMATION'],
        ['another issuer', redirectToUs('SAMLResponse', idpLogoutResponse(sent.id).replace(s.idpEntityId, 'https://evil.example')), 'SSO_ISSUER'],
        [
          'a LogoutResponse sent as SAMLRequest',
          redirectToUs('SAMLRequest', idpLogoutResponse(sent.id)),
          'SSO_MALFORMED',
        ],
      ];
      for (const [name, send, code] of cases) {
        const res = await send;
        assert.ok(res.status >= 400, `${name}: ${res.status}`);
        assert.match(res.text, new RegExp(code), name);
      }
      // None of them consumed the request: the genuine answer still works (POST binding, enveloped signature).
      const genuine = idpLogoutResponse(sent.id);
      const posted = signElementById(genuine, parse(genuine).getAttribute('ID')!, s.idp.keyPair);
      const res = await request(s.t.app).post(sloPath).type('form').send({ SAMLResponse: Buffer.from(posted).toString('base64') }).redirects(0);
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /You have signed out/);
    });

    it('IdP-initiated LogoutRequest (Redirect): revokes the named session only, answers a signed LogoutResponse', async () => {
      const local = `idp${randomBytes(3).toString('hex')}`;
      const first = await signIn(local);
      const second = await signIn(local); // another device, another SessionIndex
      const { id, xml } = idpLogoutRequest({ nameId: first.nameId, sessionIndex: first.sessionIndex });
      const res = await redirectToUs('SAMLRequest', xml, { relayState: 'idp-state', cookie: first.cookie });
      assert.equal(res.status, 302, res.text);
      const location = res.headers.location as string;
      assert.ok(location.startsWith(`${IDP_SLO}?`), location);
      const decoded = decodeRedirect(location.slice(location.indexOf('?')), { verifyKeys: [servicePublicKey()] });
      assert.equal(decoded.kind, 'SAMLResponse');
      assert.equal(decoded.relayState, 'idp-state', 'RelayState returned to the IdP');
      const answer = parse(decoded.xml);
      assert.equal(answer.localName, 'LogoutResponse');
      assert.equal(answer.getAttribute('InResponseTo'), id);
      assert.equal(answer.getAttribute('Destination'), IDP_SLO);
      assert.equal(answer.getElementsByTagNameNS(SAMLP, 'StatusCode')[0]?.getAttribute('Value'), SUCCESS);
      assert.ok(clearsCookie(res), "the browser's cookie for the ended session is cleared");

      assert.notEqual((await sessionRow(first.cookie))?.revoked_at, null);
      assert.equal((await sessionRow(second.cookie))?.revoked_at, null, 'the other SessionIndex lives on');

      // Without SessionIndex: every session of the NameID (POST binding, enveloped signature).
      const all = idpLogoutRequest({ nameId: second.nameId });
      const signed = signElementById(all.xml, all.id, s.idp.keyPair);
      const posted = await request(s.t.app).post(sloPath).type('form').send({ SAMLRequest: Buffer.from(signed).toString('base64') }).redirects(0);
      assert.equal(posted.status, 302, posted.text);
      assert.notEqual((await sessionRow(second.cookie))?.revoked_at, null);
      assert.equal(sessionCookieOf(posted), undefined);
    });

    it('a replayed IdP LogoutRequest is refused (SSO_REPLAY, by either binding) and revokes nothing the second time', async () => {
      const local = `rep${randomBytes(3).toString('hex')}`;
      const before = await signIn(local);
      // Without SessionIndex the request ends every session of the NameID: replayed later, it would end new ones.
      const captured = idpLogoutRequest({ nameId: before.nameId });
      const first = await redirectToUs('SAMLRequest', captured.xml, { relayState: 'idp-state' });
      assert.equal(first.status, 302, first.text);
      assert.notEqual((await sessionRow(before.cookie))?.revoked_at, null, 'the first delivery ends the session');

      const later = await signIn(local); // the user signs in again
      const replays: Array<[string, () => request.Test]> = [
        ['the same Redirect message', () => redirectToUs('SAMLRequest', captured.xml, { relayState: 'idp-state', cookie: later.cookie })],
        [
          'the same ID signed for the POST binding',
          () =>
            request(s.t.app)
              .post(sloPath)
              .set('Cookie', `fedbridge_session=${later.cookie}`)
              .type('form')
              .send({ SAMLRequest: Buffer.from(signElementById(captured.xml, captured.id, s.idp.keyPair)).toString('base64') })
              .redirects(0),
        ],
      ];
      for (const [name, send] of replays) {
        const res = await send();
        assert.ok(res.status >= 400, `${name}: ${res.status} ${res.headers.location ?? ''}`);
        assert.match(res.text, /SSO_REPLAY/, name);
        assert.equal(clearsCookie(res), false, `${name}: the cookie stays`);
        assert.equal((await sessionRow(later.cookie))?.revoked_at, null, `${name}: nothing revoked`);
      }
      // A new request (a new ID) from the IdP still works.
      const fresh = await redirectToUs('SAMLRequest', idpLogoutRequest({ nameId: later.nameId }).xml);
      assert.equal(fresh.status, 302, fresh.text);
      assert.notEqual((await sessionRow(later.cookie))?.revoked_at, null);
    });

    it("an IdP LogoutRequest for another NameID ends that user's sessions, not the browser's own", async () => {
      const mine = await signIn();
      const theirs = await signIn();
      const { xml } = idpLogoutRequest({ nameId: theirs.nameId });
      const res = await redirectToUs('SAMLRequest', xml, { cookie: mine.cookie });
      assert.equal(res.status, 302, res.text);
      assert.equal((await sessionRow(mine.cookie))?.revoked_at, null, "the browser's session is not named: it lives on");
      assert.equal(clearsCookie(res), false, 'its cookie is kept');
      assert.notEqual((await sessionRow(theirs.cookie))?.revoked_at, null, 'the named session ends');

      // Same NameID, another SessionIndex: not the browser's session either.
      const other = idpLogoutRequest({ nameId: mine.nameId, sessionIndex: newId() });
      const res2 = await redirectToUs('SAMLRequest', other.xml, { cookie: mine.cookie });
      assert.equal(res2.status, 302, res2.text);
      assert.equal((await sessionRow(mine.cookie))?.revoked_at, null, 'another SessionIndex of the same NameID: it lives on');
    });

    it('IdP-initiated LogoutRequest refusals revoke nothing: unsigned, other key, other issuer or destination, stale, altered after signing', async () => {
      const victim = await signIn();
      const stranger = generateTestKeyPair();
      const req = () => idpLogoutRequest({ nameId: victim.nameId, sessionIndex: victim.sessionIndex });
      const altered = (() => {
        const r = req();
        return signElementById(r.xml, r.id, s.idp.keyPair).replace(victim.nameId, 'someone-else@example.com');
      })();
      const cases: Array<[string, () => request.Test, string]> = [
        ['unsigned', () => redirectToUs('SAMLRequest', req().xml, { key: null }), 'SSO_SIGNATURE'],
        ['another key', () => redirectToUs('SAMLRequest', req().xml, { key: stranger.privateKeyPem }), 'SSO_SIGNATURE'],
        ['another issuer', () => redirectToUs('SAMLRequest', idpLogoutRequest({ nameId: victim.nameId, issuer: 'https://evil.example' }).xml), 'SSO_ISSUER'],
        ['another destination', () => redirectToUs('SAMLRequest', idpLogoutRequest({ nameId: victim.nameId, destination: 'https://elsewhere.example/slo' }).xml), 'SSO_DESTINATION'],
        ['stale', () => redirectToUs('SAMLRequest', idpLogoutRequest({ nameId: victim.nameId, issueInstant: s.clock.now() - 3600_000 }).xml), 'SSO_EXPIRED'],
        ['altered after signing (POST)', () => request(s.t.app).post(sloPath).type('form').send({ SAMLRequest: Buffer.from(altered).toString('base64') }).redirects(0), 'SSO_SIGNATURE'],
        [
          'a DOCTYPE (POST)',
          () => request(s.t.app).post(sloPath).type('form').send({ SAMLRequest: Buffer.from(`<!DOCTYPE x [<!ENTITY e "x">]>${req().xml}`).toString('base64') }).redirects(0),
          'SSO_MALFORMED',
        ],
      ];
      for (const [name, send, code] of cases) {
        const res = await send();
        assert.ok(res.status >= 400, `${name}: ${res.status} ${res.headers.location ?? ''}`);
        assert.match(res.text, new RegExp(code), name);
        assert.equal((await sessionRow(victim.cookie))?.revoked_at, null, `${name}: nothing revoked`);
      }
    });

    it('GET without a message asks for confirmation; POST signs out; without IdP SLO: the logout URL, else the signed-out page', async () => {
      const { cookie } = await signIn();
      const confirm = await request(s.t.app).get(sloPath).set('Cookie', `fedbridge_session=${cookie}`).redirects(0);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /<form method="post" action="\/sso\/[^"]+\/saml\/slo">/);
      assert.equal((await sessionRow(cookie))?.revoked_at, null, 'a GET (a link) signs nobody out');

      // An org whose IdP declared no SLO endpoint.
      const other = await startSamlScenario({ app: s.t, sso: { singleLogout: true, logoutUrl: 'https://idp.test.example/signed-out' } });
      const user = other.user('plain');
      const signedIn = await other.signIn({ nameId: user.nameId, attributes: user.attributes });
      assert.ok(signedIn.outcome.ok);
      const viaUrl = await request(s.t.app).post(`/sso/${other.slug}/saml/slo`).set('Cookie', `fedbridge_session=${signedIn.outcome.sessionCookie}`).redirects(0);
      assert.equal(viaUrl.status, 302);
      assert.equal(viaUrl.headers.location, 'https://idp.test.example/signed-out');
      assert.notEqual((await other.sessionFor(signedIn.outcome.sessionCookie))?.revoked_at, null);

      await other.putSso({ singleLogout: false });
      const again = await other.signIn({ nameId: user.nameId, attributes: user.attributes });
      assert.ok(again.outcome.ok);
      const page = await request(s.t.app).post('/logout').set('Cookie', `fedbridge_session=${again.outcome.sessionCookie}`).redirects(0);
      assert.equal(page.status, 200);
      assert.match(page.text, /You have signed out/);
      assert.ok(clearsCookie(page));
      // Without any session: still the signed-out page, nothing else.
      const none = await request(s.t.app).post('/logout').redirects(0);
      assert.equal(none.status, 200);
    });
  });
}
