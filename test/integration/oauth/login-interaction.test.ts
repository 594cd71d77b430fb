/**
 * R-OAUTH-2 login interaction: home-realm discovery (`org`, `login_hint`, the e-mail page with
 * its CSRF token), the SSO round trip, forced re-authentication, account switches, and the
 * refusals that keep it from looping or reflecting input.
 */
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import {
  Browser,
  completeSso,
  createAccount,
  createOrg,
  createSamlSession,
  NATIVE_CLIENT,
  oidcClient,
  registerClient,
  startHarness,
  type Harness,
} from './oauth-harness.js';

const REDIRECT = 'http://127.0.0.1:8123/callback';

for (const engine of testEngines()) {
  describe(`OAuth login interaction [${engine.name}]`, () => {
    let h: Harness;
    let jane: string;
    let config: client.Configuration;

    before(async () => {
      h = await startHarness(engine);
      jane = await createAccount(h, { email: 'jane@acme.com' });
      await createOrg(h, 'dormant.com', { ssoEnabled: false });
      const { clientId } = await registerClient(h, NATIVE_CLIENT);
      config = await oidcClient(h, clientId);
    });
    after(() => h.close());

    async function start(browser: Browser, params: Record<string, string> = {}) {
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'st',
        ...params,
      });
      return { step: await browser.follow(url.href), verifier };
    }

    function formOf(body: string) {
      return { action: /action="([^"]+)"/.exec(body)![1]!, csrf: /name="csrf" value="([^"]+)"/.exec(body)![1]! };
    }

    it('asks for the e-mail when nothing names the organisation, on a no-store page with a CSRF token', async () => {
      const browser = new Browser(h);
      const { step } = await start(browser);
      assert.equal(step.status, 200);
      assert.match(step.url, /\/oauth\/interaction\/[^/]+$/);
      assert.match(step.body, /<form method="post" action="\/oauth\/interaction\/[^"]+\/discover">/);
      assert.match(step.body, /Sign in to Desktop app/);
      assert.equal(step.headers.get('cache-control'), 'no-store');
      assert.match(step.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const res = await fetch(`${h.base}${new URL(step.url).pathname}`, { redirect: 'manual' });
      assert.equal(res.status, 400, 'without the interaction cookie the page is not shown');
    });

    it('refuses a form without or with a wrong CSRF token', async () => {
      const browser = new Browser(h);
      const { step } = await start(browser);
      const { action, csrf } = formOf(step.body);
      assert.equal((await browser.visit(action, { email: 'jane@acme.com', action: 'continue' })).status, 403);
      assert.equal((await browser.visit(action, { csrf: `${csrf.slice(0, -1)}x`, email: 'jane@acme.com' })).status, 403);
      // A token from another interaction does not fit this one either.
      const other = formOf((await start(new Browser(h))).step.body);
      assert.equal((await browser.visit(action, { csrf: other.csrf, email: 'jane@acme.com' })).status, 403);
      // The right one works.
      const ok = await browser.visit(action, { csrf, email: 'jane@acme.com', action: 'continue' });
      assert.equal(ok.status, 303);
      assert.equal(new URL(ok.location!).pathname, '/sso/acme.com/login');
    });

    it('explains unknown, malformed and non-SSO e-mail domains on the page, escaping what was typed', async () => {
      const browser = new Browser(h);
      const { step } = await start(browser);
      const { action, csrf } = formOf(step.body);
      const cases: Array<[string, RegExp]> = [
        ['someone@unknown.example', /No organisation signs in with unknown\.example addresses/],
        ['not-an-email', /Enter a work e-mail address/],
        ['"><script>alert(1)</script>@acme.com', /Enter a work e-mail address/],
        ['bob@dormant.com', /does not sign in through single sign-on/],
      ];
      for (const [email, message] of cases) {
        const r = await browser.visit(action, { csrf, email, action: 'continue' });
        assert.equal(r.status, 400, email);
        assert.match(r.body, message);
        assert.ok(!r.body.includes('<script>'), 'what was typed is escaped');
      }
    });

    it('goes straight to the SSO of the `org` parameter or of the login_hint domain', async () => {
      for (const params of [{ org: 'acme.com' }, { login_hint: 'jane@ACME.com' }] as Record<string, string>[]) {
        const { step } = await start(new Browser(h), params);
        assert.equal(step.status, 303);
        const sso = new URL(step.location!);
        assert.equal(sso.pathname, '/sso/acme.com/login');
        assert.match(sso.searchParams.get('target')!, /^\/oauth\/interaction\/[A-Za-z0-9_-]+\?sso=none$/);
      }
      const unknown = await start(new Browser(h), { org: '<b>nope</b>' });
      assert.equal(unknown.step.status, 200);
      assert.match(unknown.step.body, /There is no organisation &#60;b&#62;nope&#60;\/b&#62;/);
      const hint = await start(new Browser(h), { login_hint: 'x@unknown.example' });
      assert.match(hint.step.body, /No organisation signs in with unknown\.example/);
      assert.match(hint.step.body, /value="x@unknown\.example"/);
    });

    it('lets the user cancel: the client gets access_denied', async () => {
      const browser = new Browser(h);
      const { step } = await start(browser);
      const { action, csrf } = formOf(step.body);
      const done = await browser.follow(action, { csrf, action: 'cancel' });
      const cb = new URL(done.location!);
      assert.equal(cb.origin + cb.pathname, REDIRECT);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
    });

    it('does not loop when SSO comes back without a usable session', async () => {
      const browser = new Browser(h);
      const { step } = await start(browser, { org: 'acme.com' });
      const target = new URL(step.location!).searchParams.get('target')!;
      const back = await browser.follow(target);
      assert.equal(back.status, 400);
      assert.match(back.body, /did not leave a usable session/);
    });

    it('ignores the SAML session of a deactivated account, and of another org than the one asked for', async () => {
      const other = await createOrg(h, 'globex.com');
      const bob = await createAccount(h, { email: 'bob@globex.com', orgId: other });
      const browser = new Browser(h);
      browser.setCookie('fedbridge_session', (await createSamlSession(h, bob, other)).cookie);
      const { step } = await start(browser, { org: 'acme.com' });
      assert.equal(new URL(step.location!).pathname, '/sso/acme.com/login');

      const leaver = await createAccount(h, { email: 'leaver@acme.com' });
      const b2 = new Browser(h);
      b2.setCookie('fedbridge_session', (await createSamlSession(h, leaver)).cookie);
      await request(h.t.app).post(`/api/v1/orgs/acme.com/users/${leaver}/deactivate`).set('Authorization', `Bearer ${h.t.superKey}`).expect(200);
      const again = await start(b2, { login_hint: 'leaver@acme.com' });
      assert.equal(again.step.status, 303);
      assert.equal(new URL(again.step.location!).pathname, '/sso/acme.com/login');
    });

    it('prompt=login insists on a new sign-in even with a live session', async () => {
      const browser = new Browser(h);
      browser.setCookie('fedbridge_session', (await createSamlSession(h, jane)).cookie);
      const { step } = await start(browser, { prompt: 'login' });
      assert.equal(step.status, 303, 'sent to SSO despite the session');
      const sso = new URL(step.location!);
      assert.equal(sso.pathname, '/sso/acme.com/login');
      const target = sso.searchParams.get('target')!;
      assert.doesNotMatch(target, /sso=none$/);
      // Coming back with the same session is not a new sign-in.
      assert.equal((await browser.follow(target)).status, 400);
      // A new one is.
      const { target: again } = await completeSso(h, browser, step.location!, jane);
      const done = await browser.follow(again);
      assert.ok(new URL(done.location!).searchParams.get('code'));
    });

    it('switches accounts without stopping at a logout confirmation', async () => {
      const browser = new Browser(h);
      const first = await start(browser, { org: 'acme.com' });
      const { target } = await completeSso(h, browser, first.step.location!, jane);
      assert.ok(new URL((await browser.follow(target)).location!).searchParams.get('code'));

      const john = await createAccount(h, { email: 'john@acme.com' });
      browser.setCookie('fedbridge_session', (await createSamlSession(h, john)).cookie);
      const { step, verifier } = await start(browser);
      const cb = new URL(step.location!);
      assert.ok(cb.searchParams.get('code'), `expected a code, got ${step.status} ${step.body.slice(0, 200)}`);
      const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: 'st' });
      assert.equal(tokens.claims()?.sub, john);
    });
  });
}
