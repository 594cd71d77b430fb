/**
 * Interoperability with an IdP we did not write: samlify (2.13, dev dependency) plays the IdP.
 * Its signing certificate is imported into the org as an organisation certificate, it encrypts
 * to the service certificate exported through our API, it parses our AuthnRequests from both
 * bindings (verifying their signatures when the org signs them) and builds the Responses; the
 * browser's part (redirects and form posts) is played with supertest, ending with the session
 * cookie set.
 *
 * samlify insists on a schema validator before it parses anything. We register a permissive
 * one that only checks well-formedness with @xmldom/xmldom (no XSD validation): what is under
 * test is the bridge's acceptance of samlify's messages, and samlify parsing ours.
 *
 * samlify reads the system clock (new Date()) for the instants it writes, so this suite runs
 * the app with a ManualClock set to the real time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as samlify from 'samlify';
import { NAME_ID_FORMAT_URN } from '../../src/saml/name-id-formats.js';
import type { NameIdFormat } from '../../src/saml/name-id-formats.js';
import { testEngines } from '../support/databases.js';
import { assertSignedIn, type SamlScenario, type StartedLogin } from '../support/saml-scenario.js';
import type { TestKeyPair } from '../support/test-idp.js';
import { bridgeAsSp, fillResponseTemplate, IDP_SSO_URL, startSamlifyScenario, samlifyIdp, type IdpUser } from '../support/samlify-idp.js';

type Idp = ReturnType<typeof samlifyIdp>;
type Sp = ReturnType<typeof bridgeAsSp>;

/** samlify builds a Response (HTTP-POST binding) and the browser posts it to the ACS. */
async function respond(
  s: SamlScenario,
  idp: Idp,
  sp: Sp,
  user: IdpUser,
  opts: { inResponseTo?: string; relayState?: string; encryptThenSign?: boolean } = {},
) {
  const built = (await idp.createLoginResponse(sp, { extract: {} }, 'post', { email: user.nameId }, {
    ...(opts.relayState !== undefined ? { relayState: opts.relayState } : {}),
    customTagReplacement: fillResponseTemplate(idp, s, user, opts.inResponseTo),
    encryptThenSign: opts.encryptThenSign ?? false,
  })) as { context: string; entityEndpoint: string };
  assert.equal(built.entityEndpoint, s.acsUrl, 'samlify posts to our ACS');
  return { base64: built.context, xml: Buffer.from(built.context, 'base64').toString('utf8') };
}

/** Hands our AuthnRequest to samlify exactly as the browser would deliver it. */
async function idpReceives(idp: Idp, sp: Sp, login: StartedLogin) {
  assert.equal(login.endpoint, IDP_SSO_URL, 'the request goes to the configured SSO URL');
  if (login.binding === 'redirect') {
    const raw = Object.fromEntries(login.rawQuery!.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
    // The octets the query signature covers, in the order of saml-bindings §3.4.4.1, as sent.
    const octetString = ['SAMLRequest', 'RelayState', 'SigAlg']
      .filter((k) => raw[k] !== undefined)
      .map((k) => `${k}=${raw[k]}`)
      .join('&');
    const query = Object.fromEntries(new URLSearchParams(login.rawQuery!));
    return idp.parseLoginRequest(sp, 'redirect', { query, octetString });
  }
  return idp.parseLoginRequest(sp, 'post', {
    body: { SAMLRequest: login.samlRequestBase64!, ...(login.relayState !== undefined ? { RelayState: login.relayState } : {}) },
  });
}

let userCounter = 0;
function newUser(s: SamlScenario, nameId?: (local: string, email: string) => string): IdpUser {
  const uid = `interop${++userCounter}`;
  const email = `${uid}@${s.slug}`;
  return { uid, email, nameId: nameId ? nameId(uid, email) : email };
}

for (const engine of testEngines()) {
  describe(`interop: samlify as the IdP, over HTTP [${engine.name}]`, function () {
    this.timeout(180_000);
    let s: SamlScenario;
    let key: TestKeyPair;

    before(async () => {
      ({ s, key } = await startSamlifyScenario(engine, { idpInitiated: true, idpInitiatedTargetParam: 'TARGET' }));
    });
    after(() => s?.close());

    beforeEach(() => s.clock.set(Date.now()));

    /** SP-initiated through the configured binding, then samlify's Response; returns the ACS result. */
    async function spInitiated(
      idp: Idp,
      sp: Sp,
      user: IdpUser,
      opts: { target?: string; encryptThenSign?: boolean } = {},
    ) {
      const login = await s.startLogin(opts.target);
      const parsed = await idpReceives(idp, sp, login);
      const request = parsed.extract.request as Record<string, string>;
      assert.equal(request.id, login.requestId, 'samlify read our AuthnRequest ID');
      assert.equal(parsed.extract.issuer, s.spEntityId, 'samlify read our Issuer');
      assert.equal(request.assertionConsumerServiceUrl, s.acsUrl);
      const response = await respond(s, idp, sp, user, {
        inResponseTo: request.id,
        ...(login.relayState !== undefined ? { relayState: login.relayState } : {}),
        encryptThenSign: opts.encryptThenSign ?? false,
      });
      return { login, response, result: await s.post(response.base64, login.relayState) };
    }

    const SIGNING = [
      { name: 'signed assertion', wantAssertionsSigned: true, wantMessageSigned: false, signatures: ['Assertion'] },
      { name: 'signed response', wantAssertionsSigned: false, wantMessageSigned: true, signatures: ['Response'] },
      { name: 'signed response and assertion', wantAssertionsSigned: true, wantMessageSigned: true, signatures: ['Response', 'Assertion'] },
    ];

    for (const mode of SIGNING) {
      it(`${mode.name}: signed in, cookie set`, async () => {
        const idp = samlifyIdp(key);
        const sp = bridgeAsSp(s, mode);
        const user = newUser(s);
        const target = `https://portal.${s.slug}/after/${mode.signatures.join('-')}`;
        const { response, result } = await spInitiated(idp, sp, user, { target });
        // What samlify signed is what this case claims.
        for (const where of ['Response', 'Assertion']) {
          const signed = new RegExp(`<(?:\\w+:)?${where}\\b[^>]*>(?:<(?:\\w+:)?Issuer>[^<]*</(?:\\w+:)?Issuer>)<(?:\\w+:)?Signature\\b`).test(response.xml);
          assert.equal(signed, mode.signatures.includes(where), `${where} signed by samlify: ${signed}`);
        }
        const { account } = await assertSignedIn(s, result, { nameId: user.email, location: target });
        assert.equal(account.uid, user.uid);
        assert.equal(account.email, user.email);
        assert.equal(account.firstname, 'Interop');
      });
    }

    it('the session cookie is HttpOnly, Secure (https public URL), SameSite=Lax', async () => {
      const idp = samlifyIdp(key);
      const { result } = await spInitiated(idp, bridgeAsSp(s, SIGNING[0]!), newUser(s));
      const header = ([] as string[]).concat(result.res.headers['set-cookie'] ?? []).find((c) => c.startsWith('fedbridge_session='));
      assert.ok(header, 'Set-Cookie fedbridge_session');
      assert.match(header, /;\s*HttpOnly/i);
      assert.match(header, /;\s*Secure/i);
      assert.match(header, /;\s*SameSite=Lax/i);
      assert.match(header, /^fedbridge_session=[A-Za-z0-9_-]{43};/, 'an opaque 256-bit id');
    });

    it('encrypted assertion (samlify encrypts its signed assertion to our exported service certificate)', async () => {
      const idp = samlifyIdp(key, { encrypt: true });
      const user = newUser(s);
      const { response, result } = await spInitiated(idp, bridgeAsSp(s, SIGNING[0]!), user);
      assert.match(response.xml, /EncryptedAssertion/);
      assert.doesNotMatch(response.xml, new RegExp(user.email.replace(/\./g, '\\.')), 'the user is not visible in the encrypted Response');
      await assertSignedIn(s, result, { nameId: user.email });
    });

    it('encrypted assertion with AES-128-GCM (samlify\'s XML Encryption 1.1 option)', async () => {
      const idp = samlifyIdp(key, { encrypt: true, dataEncryptionAlgorithm: samlify.Constants.algorithms.encryption.data.AES_128_GCM });
      const user = newUser(s);
      const { response, result } = await spInitiated(idp, bridgeAsSp(s, SIGNING[0]!), user);
      assert.match(response.xml, /xmlenc11#aes128-gcm/);
      await assertSignedIn(s, result, { nameId: user.email });
    });

    it('encrypted assertion inside a signed response (samlify encrypt-then-sign)', async () => {
      const idp = samlifyIdp(key, { encrypt: true });
      const user = newUser(s);
      const sp = bridgeAsSp(s, { wantAssertionsSigned: true, wantMessageSigned: true });
      const { response, result } = await spInitiated(idp, sp, user, { encryptThenSign: true });
      assert.match(response.xml, /EncryptedAssertion/);
      await assertSignedIn(s, result, { nameId: user.email });
    });

    describe('each NameID format (the org configured with it)', () => {
      const FORMATS: Array<{ format: NameIdFormat; nameId: (uid: string, email: string) => string }> = [
        { format: 'unspecified', nameId: (uid) => uid },
        { format: 'emailAddress', nameId: (_uid, email) => email },
        { format: 'persistent', nameId: () => `p-${randomUUID()}` },
        { format: 'entity', nameId: (uid) => `https://entities.example/${uid}` },
        { format: 'x509SubjectName', nameId: (uid) => `CN=${uid},OU=Staff,O=Acme,C=US` },
      ];
      after(() => s.putSso({ nameIdFormat: 'unspecified' }));

      for (const { format, nameId } of FORMATS) {
        it(`${format}: the AuthnRequest asks for it, samlify answers with it, signed in`, async () => {
          await s.putSso({ nameIdFormat: format });
          const idp = samlifyIdp(key, { nameIdFormat: format });
          const user = newUser(s, nameId);
          const { login, result } = await spInitiated(idp, bridgeAsSp(s, SIGNING[0]!), user);
          assert.ok(login.xml.includes(`Format="${NAME_ID_FORMAT_URN[format]}"`), 'NameIDPolicy carries the configured format');
          const { session, account } = await assertSignedIn(s, result, { nameId: user.nameId });
          assert.equal(session.name_id_format, NAME_ID_FORMAT_URN[format]);
          assert.equal(account.uid, user.uid);
        });
      }
    });

    describe('SP-initiated through both bindings, unsigned and signed AuthnRequests', () => {
      after(() => s.putSso({ ssoLoginBinding: 'redirect', authnRequestSigned: false }));

      for (const binding of ['redirect', 'post'] as const) {
        for (const signed of [false, true]) {
          it(`${binding} binding, ${signed ? 'signed (samlify verifies it with our service certificate)' : 'unsigned'}`, async () => {
            await s.putSso({
              ssoLoginBinding: binding,
              authnRequestSigned: signed,
              ...(signed ? { authnRequestDestination: IDP_SSO_URL } : {}),
            });
            const idp = samlifyIdp(key, { wantAuthnRequestsSigned: signed });
            const sp = bridgeAsSp(s, { wantAssertionsSigned: true, wantMessageSigned: false, authnRequestsSigned: signed });
            const user = newUser(s);
            const target = `https://portal.${s.slug}/${binding}`;
            const { login, result } = await spInitiated(idp, sp, user, { target });
            assert.equal(login.binding, binding);
            assert.ok(login.relayState && Buffer.byteLength(login.relayState) <= 80, 'RelayState is a short handle');
            assert.ok(!login.relayState.includes('portal'), 'RelayState never carries the target');
            if (signed && binding === 'redirect') assert.match(login.rawQuery!, /&SigAlg=[^&]+&Signature=/);
            if (signed && binding === 'post') assert.match(login.xml, /<(\w+:)?Signature\b/);
            await assertSignedIn(s, result, { nameId: user.email, location: target });
          });
        }
      }

      it('samlify refuses our signed requests once tampered (its verification is real)', async () => {
        const idp = samlifyIdp(key, { wantAuthnRequestsSigned: true });
        const sp = bridgeAsSp(s, { wantAssertionsSigned: true, wantMessageSigned: false, authnRequestsSigned: true });
        await s.putSso({ ssoLoginBinding: 'post', authnRequestSigned: true, authnRequestDestination: IDP_SSO_URL });
        const post = await s.startLogin();
        const tampered = Buffer.from(post.xml.replace(s.acsUrl, 'https://evil.example/acs'), 'utf8').toString('base64');
        assert.notEqual(tampered, post.samlRequestBase64);
        await assert.rejects(idpReceives(idp, sp, { ...post, samlRequestBase64: tampered }), 'POST: enveloped signature');
        await s.putSso({ ssoLoginBinding: 'redirect' });
        const redirect = await s.startLogin();
        const otherRelayState = redirect.rawQuery!.replace(/RelayState=[^&]+/, 'RelayState=evil');
        assert.notEqual(otherRelayState, redirect.rawQuery);
        await assert.rejects(idpReceives(idp, sp, { ...redirect, rawQuery: otherRelayState }), 'Redirect: query signature');
      });
    });

    describe('IdP-initiated', () => {
      it('no InResponseTo; the target from the configured parameter in RelayState', async () => {
        const idp = samlifyIdp(key);
        const sp = bridgeAsSp(s, SIGNING[0]!);
        const user = newUser(s);
        const target = `https://portal.${s.slug}/deep/link?x=1`;
        const response = await respond(s, idp, sp, user, { relayState: `TARGET=${encodeURIComponent(target)}` });
        assert.doesNotMatch(response.xml, /InResponseTo/);
        await assertSignedIn(s, await s.post(response.base64, `TARGET=${encodeURIComponent(target)}`), { nameId: user.email, location: target });
      });

      it('a target on another origin is dropped for the default target (no open redirect)', async () => {
        const idp = samlifyIdp(key);
        const user = newUser(s);
        const relayState = `TARGET=${encodeURIComponent('https://evil.example/phish')}`;
        const response = await respond(s, idp, bridgeAsSp(s, SIGNING[0]!), user, { relayState });
        await assertSignedIn(s, await s.post(response.base64, relayState), { nameId: user.email, location: `https://portal.${s.slug}/home` });
      });
    });

    it('samlify with other namespace prefixes (samlp2:/saml2:) is read the same', async () => {
      const idp = samlifyIdp(key, { tagPrefix: { protocol: 'samlp2', assertion: 'saml2' } });
      const user = newUser(s);
      const { response, result } = await spInitiated(idp, bridgeAsSp(s, SIGNING[2]!), user);
      assert.match(response.xml, /<samlp2:Response/);
      assert.match(response.xml, /<saml2:Assertion/);
      await assertSignedIn(s, result, { nameId: user.email });
    });
  });
}
