/**
 * SAML sign-in end to end over HTTP, on both engines (R-SAML-2, R-SAML-4 … R-SAML-6, R-ERR-1):
 * the AuthnRequest each binding sends (decoded and verified here with node:crypto and
 * xml-crypto against the exported service certificate, not with the code under test), the
 * stored request, a full sign-in down to the cookie attributes, the account and the session
 * row, IdP-initiated targets, and how failures are shown, logged and counted.
 */
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import express from 'express';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import { SignedXml } from 'xml-crypto';
import { ssoErrorHandler } from '../../../src/http/sso-error-handler.js';
import { AUTHN_CONTEXT, BINDING, DSIG_ALG, NS } from '../../../src/saml/namespaces.js';
import { NAME_ID_FORMAT_URN } from '../../../src/saml/name-id-formats.js';
import { upsertSsoConfig } from '../../../src/store/sso-configs.js';
import { testEngines } from '../../support/databases.js';
import { assertRefused, assertSignedIn, auth, sessionCookieOf, ssoOutcome, startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';
import { LogCapture, startTestApp, type TestApp } from '../../support/test-app.js';

const MINUTE = 60_000;

function parseXml(xml: string): Element {
  const doc = new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') throw new Error(msg);
    },
  }).parseFromString(xml, 'text/xml');
  return doc.documentElement as Element;
}

function child(el: Element, ns: string, localName: string): Element | undefined {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === localName) return n as Element;
  }
  return undefined;
}

/** The raw (still percent-encoded) values of a query string, by name. */
function rawParams(query: string): Map<string, string> {
  return new Map(query.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as [string, string]));
}

function setCookieHeader(res: request.Response): string {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  const header = (raw ?? []).find((h) => h.startsWith('fedbridge_session='));
  assert.ok(header, 'a fedbridge_session cookie is set');
  return header;
}

async function metricValue(t: TestApp, name: string, labels = ''): Promise<number> {
  const text = (await request(t.app).get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

function logLines(t: TestApp): Array<Record<string, unknown>> {
  return t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

for (const engine of testEngines()) {
  describe(`SAML sign-in flow over HTTP [${engine.name}]`, function () {
    this.timeout(120_000);
    let s: SamlScenario;

    before(async () => {
      s = await startSamlScenario({ engine, sso: { authnContextClassRef: AUTHN_CONTEXT.passwordProtectedTransport } });
    });
    after(() => s?.close());

    describe('SP-initiated: GET /sso/:org/login (R-SAML-2)', () => {
      it('Redirect binding: a signed query string carrying the AuthnRequest, stored for 10 minutes with its target', async () => {
        const signed = await startSamlScenario({
          app: s.t,
          idp: s.idp,
          sso: {
            authnRequestSigned: true,
            authnRequestDestination: 'https://idp.test.example/sso/signed',
            nameIdFormat: 'emailAddress',
            authnContextClassRef: AUTHN_CONTEXT.x509,
          },
        });
        const target = `https://portal.${signed.slug}/deep/link?x=1`;
        const login = await signed.startLogin(target);
        assert.equal(login.binding, 'redirect');
        assert.equal(login.res.status, 302);
        assert.equal(login.res.headers['cache-control'], 'no-store');
        assert.equal(login.endpoint, 'https://idp.test.example/sso', 'sent to the Customer SSO Service Login URL');

        const root = parseXml(login.xml);
        assert.equal(root.getAttribute('Version'), '2.0');
        assert.equal(root.getAttribute('IssueInstant'), new Date(s.clock.now()).toISOString().replace('.000Z', 'Z'));
        assert.equal(root.getAttribute('Destination'), 'https://idp.test.example/sso/signed', 'the configured AuthnRequest destination');
        assert.equal(root.getAttribute('AssertionConsumerServiceURL'), signed.acsUrl);
        assert.equal(root.getAttribute('ProtocolBinding'), BINDING.httpPost);
        assert.equal(child(root, NS.saml, 'Issuer')!.textContent, signed.spEntityId);
        const policy = child(root, NS.samlp, 'NameIDPolicy')!;
        assert.equal(policy.getAttribute('Format'), NAME_ID_FORMAT_URN.emailAddress);
        assert.equal(policy.getAttribute('AllowCreate'), 'true');
        const requested = child(root, NS.samlp, 'RequestedAuthnContext')!;
        assert.equal(child(requested, NS.saml, 'AuthnContextClassRef')!.textContent, AUTHN_CONTEXT.x509);
        assert.equal(child(root, NS.ds, 'Signature'), undefined, 'Redirect signs the query string, not the XML');

        // The query-string signature (bindings §3.4.4.1) verifies with the exported service certificate.
        const p = rawParams(login.rawQuery!);
        assert.equal(decodeURIComponent(p.get('SigAlg')!), DSIG_ALG.rsaSha256);
        const signedOctets = `SAMLRequest=${p.get('SAMLRequest')}&RelayState=${p.get('RelayState')}&SigAlg=${p.get('SigAlg')}`;
        const signature = Buffer.from(decodeURIComponent(p.get('Signature')!), 'base64');
        const cert = new X509Certificate(signed.serviceCertPem);
        assert.ok(crypto.verify('sha256', Buffer.from(signedOctets), cert.publicKey, signature), 'query signature verifies');
        assert.ok(!crypto.verify('sha256', Buffer.from(signedOctets.replace('RelayState=', 'RelayState=x')), cert.publicKey, signature));

        // RelayState is an opaque handle of at most 80 bytes, never the target (R-SAML-2).
        assert.ok(login.relayState && Buffer.byteLength(login.relayState) <= 80);
        assert.ok(!login.relayState.includes('portal'));
        const row = await s.t.ctx.database.db.selectFrom('authn_requests').selectAll().where('id', '=', login.requestId).executeTakeFirstOrThrow();
        assert.equal(row.org_id, signed.orgId);
        assert.equal(row.relay_state, login.relayState);
        assert.equal(row.target, target);
        assert.equal(Number(row.expires_at) - Number(row.created_at), 10 * MINUTE);
        assert.equal(row.consumed_at, null);
      });

      it('Redirect binding unsigned when authnRequestSigned is off; an unsafe target is not stored', async () => {
        const login = await s.startLogin('https://evil.example/phish');
        const p = rawParams(login.rawQuery!);
        assert.ok(!p.has('Signature') && !p.has('SigAlg'));
        assert.equal(parseXml(login.xml).getAttribute('Destination'), 'https://idp.test.example/sso');
        const row = await s.t.ctx.database.db.selectFrom('authn_requests').select('target').where('id', '=', login.requestId).executeTakeFirstOrThrow();
        assert.equal(row.target, null, 'refused targets fall back to the default later, they are never stored');
      });

      it('POST binding: an auto-submit form whose AuthnRequest carries an enveloped signature that verifies', async () => {
        const post = await startSamlScenario({
          app: s.t,
          idp: s.idp,
          sso: { ssoLoginBinding: 'post', authnRequestSigned: true, authnRequestDestination: 'https://idp.test.example/sso' },
        });
        const login = await post.startLogin();
        assert.equal(login.binding, 'post');
        assert.equal(login.res.status, 200);
        assert.match(String(login.res.headers['content-type']), /text\/html/);
        assert.equal(login.endpoint, 'https://idp.test.example/sso');
        assert.ok(login.relayState);

        const csp = String(login.res.headers['content-security-policy']);
        const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
        assert.ok(nonce, `CSP allows the script by nonce: ${csp}`);
        assert.ok(login.res.text.includes(`<script nonce="${nonce}">`));
        assert.match(csp, /form-action https:\/\/idp\.test\.example(;|$)/);

        const root = parseXml(login.xml);
        const signatureEl = child(root, NS.ds, 'Signature');
        assert.ok(signatureEl, 'enveloped signature on the AuthnRequest');
        const verifier = new SignedXml({ publicCert: post.serviceCertPem });
        verifier.loadSignature(signatureEl as never);
        assert.ok(verifier.checkSignature(login.xml), 'xml-crypto verifies it with the exported service certificate');
        assert.deepEqual(verifier.getReferences().map((r) => r.uri), [`#${login.requestId}`]);
        const tampered = login.xml.replace(post.acsUrl, 'https://evil.example/acs');
        const again = new SignedXml({ publicCert: post.serviceCertPem });
        again.loadSignature(child(parseXml(tampered), NS.ds, 'Signature') as never);
        let tamperedVerifies: boolean;
        try {
          tamperedVerifies = again.checkSignature(tampered);
        } catch {
          tamperedVerifies = false;
        }
        assert.equal(tamperedVerifies, false, 'and fails once the signed request is changed');
      });

      it('authnRequestSigned without an active service certificate: SSO_NO_ACTIVE_CERT', async () => {
        // The configuration API refuses this state (and an active certificate cannot be removed),
        // so it is written to the store directly, as an older release might have left it.
        const o = await startSamlScenario({ app: s.t, idp: s.idp });
        await s.t.ctx.database.db.deleteFrom('service_certificates').where('org_id', '=', o.orgId).execute();
        const stored = await request(s.t.app).get(`/api/v1/orgs/${o.slug}/sso`).set(auth(o.adminKey)).expect(200);
        await upsertSsoConfig(s.t.ctx.database.db, o.orgId, { ...stored.body, authnRequestSigned: true, authnRequestDestination: 'https://idp.test.example/sso' }, s.clock.now());
        await s.t.ctx.database.db.updateTable('orgs').set({ version: 999 }).where('id', '=', o.orgId).execute();
        const res = await request(s.t.app).get(`/sso/${o.slug}/login`).redirects(0);
        assert.equal(res.status, 400);
        assert.match(res.text, /SSO_NO_ACTIVE_CERT/);
        const n = await s.t.ctx.database.db.selectFrom('authn_requests').select('id').where('org_id', '=', o.orgId).execute();
        assert.equal(n.length, 0, 'no request stored');
      });

      it('SSO_CONFIG for an unknown org, an org without SSO, an unconfigured org and SP-initiated off', async () => {
        const unknown = await request(s.t.app).get('/sso/no-such-org.example/login').redirects(0);
        assert.equal(unknown.status, 400);
        assert.match(unknown.text, /SSO_CONFIG/);

        const plain = 'plain-org.example';
        await request(s.t.app).post('/api/v1/orgs').set(auth(s.t.superKey)).send({ slug: plain, name: 'Plain', ssoEnabled: false }).expect(201);
        assert.match((await request(s.t.app).get(`/sso/${plain}/login`)).text, /SSO_CONFIG/);
        const bare = 'bare-sso.example';
        await request(s.t.app).post('/api/v1/orgs').set(auth(s.t.superKey)).send({ slug: bare, name: 'Bare', ssoEnabled: true }).expect(201);
        assert.match((await request(s.t.app).get(`/sso/${bare}/login`)).text, /SSO_CONFIG/);

        const idpOnly = await startSamlScenario({ app: s.t, idp: s.idp, sso: { spInitiated: false, idpInitiated: true } });
        assert.match((await request(s.t.app).get(`/sso/${idpOnly.slug}/login`)).text, /SSO_CONFIG/);
      });
    });

    describe('ACS: a full sign-in (R-SAML-3, R-SAML-6)', () => {
      it('SP-initiated: 302 to the target, session cookie (HttpOnly, Secure, SameSite=Lax, capped by SessionNotOnOrAfter), account and session row', async () => {
        const signinsBefore = await metricValue(s.t, 'fedbridge_sso_signins_total');
        const user = s.user('full');
        const target = `https://portal.${s.slug}/welcome`;
        const r = await s.signIn({ ...user, sessionIndex: '_idx-full', sessionNotOnOrAfter: s.clock.now() + 3600_000 }, target);
        const { session, account } = await assertSignedIn(s, r, { nameId: user.nameId, location: target });
        assert.equal(r.after.accounts, r.before.accounts + 1, 'account created (auto account creation)');
        assert.equal(account.email, user.nameId);

        const cookie = setCookieHeader(r.res);
        assert.match(cookie, /; HttpOnly/);
        assert.match(cookie, /; Secure/, 'the public URL is https');
        assert.match(cookie, /; SameSite=Lax/);
        assert.match(cookie, /; Path=\//);
        assert.match(cookie, /; Max-Age=3600;/, 'the IdP session (1 h) is shorter than the 12 h maximum');
        assert.match(sessionCookieOf(r.res)!, /^[A-Za-z0-9_-]{43}$/, '256-bit opaque id');
        assert.equal(Number(session.expires_at), s.clock.now() + 3600_000);
        assert.equal(session.session_index, '_idx-full');
        assert.equal(session.name_id_format, NAME_ID_FORMAT_URN.unspecified);
        const request_ = await s.t.ctx.database.db.selectFrom('authn_requests').select('consumed_at').where('id', '=', r.login.requestId).executeTakeFirstOrThrow();
        assert.equal(Number(request_.consumed_at), s.clock.now(), 'the AuthnRequest is consumed');
        assert.equal(r.res.headers['cache-control'], 'no-store');
        assert.equal(await metricValue(s.t, 'fedbridge_sso_signins_total'), signinsBefore + 1);
      });

      it('without SessionNotOnOrAfter the cookie lives the org maximum (12 h default), and a refused target lands on the default', async () => {
        const user = s.user('maxage');
        const r = await s.signIn(user, 'https://evil.example/after');
        const { session } = await assertSignedIn(s, r, { nameId: user.nameId, location: `https://portal.${s.slug}/home` });
        assert.match(setCookieHeader(r.res), /; Max-Age=43200;/);
        assert.equal(Number(session.expires_at), s.clock.now() + 12 * 3600_000);
      });

      it('a relative target is followed as is', async () => {
        const user = s.user('relative');
        const r = await s.signIn(user, '/oauth/authorize?client_id=x');
        await assertSignedIn(s, r, { nameId: user.nameId, location: '/oauth/authorize?client_id=x' });
      });

      it('no Secure attribute when the public URL is plain http', async () => {
        const t = await startTestApp({ engine, env: { FEDBRIDGE_PUBLIC_URL: 'http://localhost:8080' } });
        try {
          const o = await startSamlScenario({ app: t, idp: s.idp });
          const acsUrl = `http://localhost:8080${o.acsPath}`;
          const login = await o.startLogin();
          const user = o.user('plainhttp');
          const built = await o.buildResponse({ ...user, inResponseTo: login.requestId, destination: acsUrl, recipient: acsUrl });
          const r = await o.post(built.base64, login.relayState);
          await assertSignedIn(o, r, { nameId: user.nameId });
          const cookie = setCookieHeader(r.res);
          assert.doesNotMatch(cookie, /Secure/);
          assert.match(cookie, /HttpOnly/);
        } finally {
          await t.close();
        }
      });
    });

    describe('ACS: IdP-initiated targets (R-SAML-4, R-SAML-5)', () => {
      let open: SamlScenario;
      before(async () => {
        open = await startSamlScenario({ app: s.t, idp: s.idp, sso: { idpInitiated: true, idpInitiatedTargetParam: 'TARGET' } });
      });

      const cases: Array<[string, (o: SamlScenario) => { relayState?: string; query?: string }, (o: SamlScenario) => string]> = [
        ['the target parameter in RelayState', (o) => ({ relayState: `TARGET=${encodeURIComponent(`https://portal.${o.slug}/idp/deep`)}` }), (o) => `https://portal.${o.slug}/idp/deep`],
        ['the target parameter on the ACS URL', (o) => ({ query: `TARGET=${encodeURIComponent(`https://portal.${o.slug}/q`)}` }), (o) => `https://portal.${o.slug}/q`],
        ['the RelayState itself when it is a safe URL', (o) => ({ relayState: `https://portal.${o.slug}/rs` }), (o) => `https://portal.${o.slug}/rs`],
        ['an unsafe target parameter: the default target', () => ({ relayState: 'TARGET=https%3A%2F%2Fevil.example%2F' }), (o) => `https://portal.${o.slug}/home`],
        ['no RelayState: the default target', () => ({}), (o) => `https://portal.${o.slug}/home`],
      ];
      for (const [name, input, expected] of cases) {
        it(name, async () => {
          const user = open.user();
          const built = await open.buildResponse(user);
          const { relayState, query } = input(open);
          const before = await open.counts();
          const res = await request(s.t.app)
            .post(`${open.acsPath}${query ? `?${query}` : ''}`)
            .type('form')
            .send({ SAMLResponse: built.base64, ...(relayState !== undefined ? { RelayState: relayState } : {}) })
            .redirects(0);
          await assertSignedIn(open, { res, outcome: ssoOutcome(res), before, after: await open.counts() }, { nameId: user.nameId, location: expected(open) });
        });
      }
    });

    describe('failures (R-ERR-1)', () => {
      it('with a Customer SSO error URL: 302 there, errorCode appended to its query byte for byte', async () => {
        const withUrl = await startSamlScenario({ app: s.t, idp: s.idp, sso: { errorUrl: 'https://help.acme.example/sso-error?lang=en&q=a%20b' } });
        const r = await withUrl.signIn({ signAssertion: false });
        assertRefused(r, 'SSO_SIGNATURE');
        assert.equal(r.res.status, 302);
        assert.equal(r.res.headers.location, 'https://help.acme.example/sso-error?lang=en&q=a%20b&errorCode=SSO_SIGNATURE');
      });

      it('a body too large for the parser is SSO_MALFORMED, redirected to the error URL too', async () => {
        const withUrl = await startSamlScenario({ app: s.t, idp: s.idp, sso: { errorUrl: 'https://help.acme.example/e' } });
        const res = await request(s.t.app).post(withUrl.acsPath).type('form').send({ SAMLResponse: 'A'.repeat(320 * 1024) }).redirects(0);
        assert.equal(res.status, 302);
        assert.equal(res.headers.location, 'https://help.acme.example/e?errorCode=SSO_MALFORMED');
        const page = await request(s.t.app).post(s.acsPath).type('form').send({ SAMLResponse: 'A'.repeat(320 * 1024) }).redirects(0);
        assert.equal(page.status, 413);
        assert.match(page.text, /SSO_MALFORMED/);
      });

      it('without: an HTML page with the code, its sentence and the correlation id; one warn line with the same id; counted', async () => {
        const failuresBefore = await metricValue(s.t, 'fedbridge_sso_failures_total', '{code="SSO_AUDIENCE"}');
        const user = s.user('loggedfailure');
        const secretAttr = `secret-value-${crypto.randomBytes(6).toString('hex')}`;
        const linesBefore = s.t.logs.lines.length;
        const r = await s.signIn({ ...user, attributes: { ...user.attributes, department: secretAttr }, audience: 'https://other-sp.example' });
        assertRefused(r, 'SSO_AUDIENCE');
        assert.equal(r.res.status, 401);
        assert.match(String(r.res.headers['content-type']), /text\/html/);
        const correlationId = String(r.res.headers['x-request-id']);
        assert.ok(r.res.text.includes(`<dd id="correlation-id">${correlationId}</dd>`), 'the correlation id is the request id');
        assert.match(r.res.text, /<dd id="error-code">SSO_AUDIENCE<\/dd>/);
        assert.match(r.res.text, /issued for a different service/);
        assert.doesNotMatch(r.res.text, /Error:|at .*\(|node_modules|\.ts:\d+|AudienceRestriction/, 'no stack trace, no reason');

        const newLines = s.t.logs.lines.slice(linesBefore);
        const warn = newLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'sso sign-in refused');
        assert.ok(warn, 'one warn line for the refusal');
        assert.equal(warn.level, 40);
        assert.equal(warn.correlationId, correlationId);
        assert.equal(warn.code, 'SSO_AUDIENCE');
        assert.equal(warn.org, s.slug);
        assert.match(String(warn.reason), /AudienceRestriction/);
        const logged = newLines.join('\n');
        assert.ok(!logged.includes(secretAttr), 'no attribute value in the log');
        assert.ok(!logged.includes(user.nameId), 'no NameID in the log');
        assert.ok(!logged.includes(r.built.base64.slice(0, 40)), 'no SAMLResponse in the log');
        assert.ok(!logged.includes('<saml'), 'no assertion XML in the log');
        assert.equal(await metricValue(s.t, 'fedbridge_sso_failures_total', '{code="SSO_AUDIENCE"}'), failuresBefore + 1);
      });

      it('a successful sign-in logs neither the NameID nor attribute values', async () => {
        const user = s.user('quietsuccess');
        const secretAttr = `dept-${crypto.randomBytes(6).toString('hex')}`;
        const linesBefore = s.t.logs.lines.length;
        const r = await s.signIn({ ...user, attributes: { ...user.attributes, department: secretAttr } });
        await assertSignedIn(s, r, { nameId: user.nameId });
        const logged = s.t.logs.lines.slice(linesBefore).join('\n');
        assert.ok(!logged.includes(secretAttr));
        assert.ok(!logged.includes('<saml'));
        assert.ok(!logged.includes(sessionCookieOf(r.res)!), 'nor the session cookie');
        const signin = logLines(s.t).find((l) => l.msg === 'sso sign-in' && l.correlationId === r.res.headers['x-request-id']);
        assert.ok(signin, 'one info line for the sign-in, with the correlation id');
      });

      it('an unexpected error: 500, a generic page with the correlation id, the error in the log only', async () => {
        const logs = new LogCapture();
        const registry = new Registry();
        const failures = new Counter({ name: 'f_total', help: 'f', labelNames: ['code'], registers: [registry] });
        const app = express();
        app.use((_req, res, next) => {
          res.locals.requestId = 'corr-12345678';
          next();
        });
        app.get('/boom', () => {
          throw new Error('database exploded at /secret/path.ts:12:3');
        });
        app.use(ssoErrorHandler({ logger: pino(logs), failures }));
        const res = await request(app).get('/boom');
        assert.equal(res.status, 500);
        assert.match(res.text, /corr-12345678/);
        assert.doesNotMatch(res.text, /exploded|secret|SSO_/);
        assert.match(logs.text(), /database exploded/);
        assert.match(await registry.metrics(), /f_total\{code="internal"\} 1/);
      });
    });

    describe('rate limit (FEDBRIDGE_RATE_LIMIT per minute per address, per endpoint)', () => {
      it('answers 429 past the limit, counts each endpoint apart, and is off at 0', async () => {
        const t = await startTestApp({ engine, env: { FEDBRIDGE_RATE_LIMIT: '2' } });
        try {
          const login = () => request(t.app).get('/sso/nope.example/login').redirects(0);
          assert.equal((await login()).status, 400);
          assert.equal((await login()).status, 400);
          const limited = await login();
          assert.equal(limited.status, 429);
          assert.doesNotMatch(limited.text, /SSO_/);
          const acs = await request(t.app).post('/sso/nope.example/saml/acs').type('form').send({ SAMLResponse: 'x' });
          assert.equal(acs.status, 400, 'the ACS has its own counter');
        } finally {
          await t.close();
        }
        // The suite's app runs with FEDBRIDGE_RATE_LIMIT=0: many requests, none limited.
        for (let i = 0; i < 5; i++) assert.equal((await request(s.t.app).get('/sso/nope.example/login')).status, 400);
      });
    });
  });
}
