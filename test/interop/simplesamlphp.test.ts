/**
 * Interoperability with a real SimpleSAMLphp IdP (Debian simplesamlphp 1.19 under `php -S`,
 * see test/support/simplesamlphp.ts). Everything goes through the public APIs and routes:
 * - metadata both ways: SimpleSAMLphp's IdP metadata URL imported with `{url}` (the test app
 *   allows private addresses, as an operator would for a lab IdP), our exported SP metadata
 *   turned into SimpleSAMLphp's saml20-sp-remote by SimpleSAMLphp's own parser;
 * - an SP-initiated sign-in with a SIGNED AuthnRequest (SimpleSAMLphp checks it because our
 *   metadata says AuthnRequestsSigned="true") and an ENCRYPTED assertion (RSA-OAEP-MGF1P +
 *   AES-128-CBC, to the certificate of our metadata), the login form filled in by the test,
 *   redirects followed with a cookie jar, ending with our session cookie;
 * - single logout: our signed LogoutRequest, SimpleSAMLphp's signed LogoutResponse.
 *
 * Skipped (with the reason printed) only when php or SimpleSAMLphp is not installed; .ci/run
 * installs both.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/clock.js';
import { sqlite } from '../support/databases.js';
import { auth, createApiKey } from '../support/fixtures.js';
import { simpleSamlPhpUnavailable, startSimpleSamlPhp, type SimpleSamlPhp } from '../support/simplesamlphp.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../support/test-app.js';

interface Form {
  action: string;
  fields: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decodeHtml(v: string): string {
  return v.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1]!.toLowerCase() === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m),
  );
}
function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? decodeHtml(m[1] ?? m[2] ?? '') : undefined;
}

/** The first form of an HTML page: its action (resolved) and its input values. */
function parseForm(html: string, pageUrl: string): Form {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  assert.ok(form, `no form in the page ${pageUrl}:\n${html.slice(0, 1500)}`);
  const openTag = /<form\b[^>]*>/i.exec(form[0])![0];
  const fields: Record<string, string> = {};
  for (const input of form[1]!.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(input, 'name');
    if (name) fields[name] = attr(input, 'value') ?? '';
  }
  return { action: new URL(attr(openTag, 'action') ?? '', pageUrl).toString(), fields };
}

/**
 * A browser with a cookie jar: requests to our public URL go to the app in process
 * (supertest), the others to SimpleSAMLphp over the network. Redirects are followed by hand.
 */
class Browser {
  private readonly jar = new Map<string, Map<string, string>>();
  constructor(private readonly t: TestApp) {}

  private cookies(url: string): string {
    const host = new URL(url).host;
    return [...(this.jar.get(host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(url: string, setCookies: string[]): void {
    const host = new URL(url).host;
    const jar = this.jar.get(host) ?? new Map<string, string>();
    for (const c of setCookies) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || value === 'deleted' || /expires=Thu, 01[- ]Jan[- ]1970/i.test(c) || /max-age=0\b/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    this.jar.set(host, jar);
  }

  cookie(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).host)?.get(name);
  }

  /** One request; returns status, location (absolute), body and the Set-Cookie headers. */
  async send(method: 'GET' | 'POST', url: string, form?: Record<string, string>) {
    if (url.startsWith(TEST_PUBLIC_URL)) {
      const path = url.slice(TEST_PUBLIC_URL.length) || '/';
      let req = method === 'GET' ? request(this.t.app).get(path) : request(this.t.app).post(path).type('form').send(form ?? {});
      const cookie = this.cookies(url);
      if (cookie) req = req.set('Cookie', cookie);
      const res = await req.redirects(0);
      const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      this.remember(url, setCookies);
      const location = res.headers.location ? new URL(res.headers.location, url).toString() : undefined;
      return { status: res.status, location, body: res.text ?? '', setCookies };
    }
    const headers: Record<string, string> = {};
    const cookie = this.cookies(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    const setCookies = res.headers.getSetCookie();
    this.remember(url, setCookies);
    const location = res.headers.get('location');
    return { status: res.status, location: location ? new URL(location, url).toString() : undefined, body: await res.text(), setCookies };
  }

  /** Follows redirects from `url` until a page (non-3xx) answers; returns it with its URL and the URLs visited. */
  async follow(method: 'GET' | 'POST', url: string, form?: Record<string, string>) {
    const visited: string[] = [url];
    let r = await this.send(method, url, form);
    let current = url;
    for (let hops = 0; r.status >= 300 && r.status < 400 && r.location; hops++) {
      assert.ok(hops < 15, `too many redirects: ${visited.join(' → ')}`);
      current = r.location;
      visited.push(current);
      r = await this.send('GET', current);
    }
    return { ...r, url: current, visited };
  }
}

describe('interop: a real SimpleSAMLphp IdP', function () {
  this.timeout(120_000);
  let ssp: SimpleSamlPhp | undefined;
  let t: TestApp;
  let slug: string;
  let key: string;
  const password = 'correct horse battery staple';

  before(async function () {
    const unavailable = simpleSamlPhpUnavailable();
    if (unavailable) {
      // CI installs SimpleSAMLphp (.ci/run): there a missing peer is a failure, not a skip.
      if (process.env.CI) throw new Error(`SimpleSAMLphp interop cannot run in CI: ${unavailable}`);
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    // SimpleSAMLphp reads the system clock: the app's clock follows the real time.
    t = await startTestApp({ engine: sqlite, clock: new ManualClock(Date.now()), config: { metadataAllowPrivate: true } });
    slug = `ssp-${Date.now().toString(36)}.example`;
    await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug, name: 'SimpleSAMLphp interop', ssoEnabled: true }).expect(201);
    key = await createApiKey(t, slug, 'orgAdmin', 'ssp');
    await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates`).set(auth(key)).send({ alias: 'sp', validityDays: 365 }).expect(201);
    await request(t.app)
      .post(`/api/v1/orgs/${slug}/users`)
      .set(auth(key))
      .send({ uid: 'alice', email: `alice@${slug}`, firstname: 'Alice', lastname: 'Liddell' })
      .expect(201);
    ssp = await startSimpleSamlPhp({
      users: [{ username: 'alice', password, attributes: { uid: ['alice'], email: [`alice@${slug}`], firstname: ['Alice'], lastname: ['Liddell'] } }],
    });
  });

  after(async () => {
    await ssp?.stop();
    await t?.close();
  });
  beforeEach(() => t?.clock.set(Date.now()));

  /** Adds SimpleSAMLphp's logs to a failure. */
  async function withLogs<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof Error) err.message += `\n${ssp!.logs()}`;
      throw err;
    }
  }

  it('metadata both ways through our APIs: SimpleSAMLphp\'s by URL into fedbridge, ours into SimpleSAMLphp', async () => {
    const imported = await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata`).set(auth(key)).send({ url: ssp!.metadataUrl });
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    assert.equal(imported.body.entityId, ssp!.entityId);
    assert.equal(imported.body.certificatesImported.length, 1);
    assert.deepEqual(imported.body.changed.authnRequestSigned, { before: false, after: true }, 'WantAuthnRequestsSigned="true"');
    assert.equal(imported.body.changed.ssoLoginUrl.after, ssp!.ssoUrl);
    assert.equal(imported.body.changed.logoutUrl.after, ssp!.sloUrl);
    assert.equal(imported.body.changed.nameIdFormat.after, 'emailAddress');
    const certs = (await request(t.app).get(`/api/v1/orgs/${slug}/certificates`).set(auth(key))).body;
    assert.equal(certs[0].sha256Fingerprint.replace(/:/g, '').toLowerCase(), ssp!.key.fingerprint256);

    const ours = await request(t.app).get(`/sso/${slug}/saml/metadata`);
    assert.equal(ours.status, 200);
    const xml = ours.text || ours.body.toString();
    assert.match(xml, /AuthnRequestsSigned="true"/);
    ssp!.trustSp(xml, { 'assertion.encryption': true });
  });

  it('SP-initiated sign-in: signed AuthnRequest, login form, encrypted assertion, our session cookie', async () => {
    await withLogs(async () => {
      const browser = new Browser(t);
      const start = await browser.send('GET', `${TEST_PUBLIC_URL}/sso/${slug}/login`);
      assert.equal(start.status, 302);
      assert.ok(start.location?.startsWith(`${ssp!.ssoUrl}?`), start.location);
      const query = new URL(start.location!).searchParams;
      assert.ok(query.get('Signature') && query.get('SigAlg'), 'the AuthnRequest is signed (query signature)');

      const loginPage = await browser.follow('GET', start.location!);
      assert.equal(loginPage.status, 200, loginPage.body.slice(0, 2000));
      const login = parseForm(loginPage.body, loginPage.url);
      assert.ok('AuthState' in login.fields, `SimpleSAMLphp's login form: ${JSON.stringify(Object.keys(login.fields))}`);

      const wrong = await browser.follow('POST', login.action, { ...login.fields, username: 'alice', password: 'wrong' });
      assert.doesNotMatch(wrong.body, /name="SAMLResponse"/, 'a wrong password gets no assertion');

      const posted = await browser.follow('POST', login.action, { ...login.fields, username: 'alice', password });
      assert.equal(posted.status, 200, posted.body.slice(0, 2000));
      const toAcs = parseForm(posted.body, posted.url);
      assert.equal(toAcs.action, `${TEST_PUBLIC_URL}/sso/${slug}/saml/acs`, 'SimpleSAMLphp posts to the ACS of our metadata');
      const responseXml = Buffer.from(toAcs.fields.SAMLResponse!, 'base64').toString('utf8');
      assert.match(responseXml, /EncryptedAssertion/, 'the assertion is encrypted');
      assert.match(responseXml, /xmlenc#rsa-oaep-mgf1p/);
      assert.match(responseXml, /xmlenc#aes128-cbc/);
      assert.doesNotMatch(responseXml, new RegExp(`alice@${slug.replace(/\./g, '\\.')}`), 'the user is not readable in transit');

      const acs = await browser.send('POST', toAcs.action, toAcs.fields);
      assert.equal(acs.status, 302, acs.body.slice(0, 2000));
      const cookie = browser.cookie(TEST_PUBLIC_URL, 'fedbridge_session');
      assert.ok(cookie, 'signed in: fedbridge_session set');
      const session = await t.ctx.database.db
        .selectFrom('saml_sessions')
        .selectAll()
        .where('org_id', '=', (await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', slug).executeTakeFirstOrThrow()).id)
        .where('revoked_at', 'is', null)
        .execute();
      assert.equal(session.length, 1);
      assert.equal(session[0]!.name_id, `alice@${slug}`);
      assert.ok(session[0]!.session_index, 'SimpleSAMLphp gave a SessionIndex');

      // Single logout round trip: our signed LogoutRequest → SimpleSAMLphp → its signed LogoutResponse → us.
      const logout = await browser.send('POST', `${TEST_PUBLIC_URL}/logout`);
      assert.equal(logout.status, 302);
      assert.ok(logout.location?.startsWith(`${ssp!.sloUrl}?`), logout.location);
      assert.ok(new URL(logout.location!).searchParams.get('Signature'), 'our LogoutRequest is signed');
      assert.equal(browser.cookie(TEST_PUBLIC_URL, 'fedbridge_session'), undefined, 'our cookie is cleared at once');
      const back = await browser.follow('GET', logout.location!);
      assert.ok(
        back.visited.some((u) => u.startsWith(`${TEST_PUBLIC_URL}/sso/${slug}/saml/slo?SAMLResponse=`) && /[?&]Signature=/.test(u)),
        `SimpleSAMLphp answered with a signed LogoutResponse to our SLO endpoint: ${back.visited.join(' → ')}`,
      );
      assert.equal(back.status, 200, back.body.slice(0, 2000));
      assert.match(back.body, /You have signed out/);
      assert.notEqual((await t.ctx.database.db.selectFrom('saml_sessions').select('revoked_at').where('id_hash', '=', session[0]!.id_hash).executeTakeFirst())?.revoked_at, null);
    });
  });

  it('SimpleSAMLphp refuses an unsigned AuthnRequest (its signature check is real)', async () => {
    await withLogs(async () => {
      await request(t.app).put(`/api/v1/orgs/${slug}/sso`).set(auth(key)).send({ authnRequestSigned: false }).expect(200);
      try {
        const browser = new Browser(t);
        const start = await browser.send('GET', `${TEST_PUBLIC_URL}/sso/${slug}/login`);
        assert.equal(new URL(start.location!).searchParams.get('Signature'), null);
        const page = await browser.follow('GET', start.location!);
        // SimpleSAMLphp answers with its error page (HTTP 200) instead of the login form.
        assert.doesNotMatch(page.body, /name="AuthState"/, `SimpleSAMLphp offered its login form for an unsigned AuthnRequest (${page.url})`);
        assert.match(ssp!.logs(), /Validation of received messages enabled, but no signature found on message/);
      } finally {
        await request(t.app).put(`/api/v1/orgs/${slug}/sso`).set(auth(key)).send({ authnRequestSigned: true }).expect(200);
      }
    });
  });
});
