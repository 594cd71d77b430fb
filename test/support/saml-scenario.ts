/**
 * A SAML sign-in scenario over HTTP, built only through the public API and routes (no store
 * calls to set things up): a test app, an SSO-enabled organisation with a domain, the test
 * IdP's certificate imported as an organisation certificate, a generated service certificate
 * (exported, for encryption to it), and a SAML 2.0 configuration with auto account creation.
 *
 * `startLogin()` follows `GET /sso/:org/login` like a browser and decodes the AuthnRequest
 * (Redirect: inflate the query parameter; POST: read the auto-submit form), with its own
 * decoding so the routes are checked against code they do not share. `post()` sends a
 * Response to the ACS and records the sessions and accounts before and after, so a refused
 * sign-in can be proved to have changed nothing (`assertRefused`).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import request from 'supertest';
import type { ManualClock } from '../../src/clock.js';
import type { SsoErrorCode } from '../../src/saml/sso-error.js';
import { sqlite, type TestEngine } from './databases.js';
import { auth, createApiKey } from './fixtures.js';
import { TEST_PUBLIC_URL, startTestApp, type TestApp } from './test-app.js';
import { TestIdp, type BuildResponseOptions, type BuiltResponse } from './test-idp.js';

export const SESSION_COOKIE = 'fedbridge_session';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const XENC = 'http://www.w3.org/2001/04/xmlenc#';

export { auth } from './fixtures.js';

export interface ScenarioOptions {
  engine?: TestEngine;
  /** Share an app (and its database) with another scenario: a second organisation. */
  app?: TestApp;
  /** The app's clock when this scenario starts the app (interop tests pass the real time). */
  clock?: ManualClock;
  /** The IdP whose certificate the org trusts; a fresh TestIdp by default. */
  idp?: TestIdp;
  /** Certificate to import as the org certificate instead of the TestIdp's (e.g. samlify's). */
  idpCertPem?: string;
  /** IdP entity id when `idpCertPem` is given. */
  idpEntityId?: string;
  /** Overrides of the SSO configuration PUT at the end of the setup. */
  sso?: Record<string, unknown>;
  /** Extra domains of the org besides its slug. */
  domains?: string[];
}

export interface StartedLogin {
  /** The AuthnRequest ID (the InResponseTo the IdP must answer with). */
  requestId: string;
  relayState: string | undefined;
  binding: 'redirect' | 'post';
  /** The decoded AuthnRequest. */
  xml: string;
  /** Where the browser was sent (Redirect) or where the form posts (POST). */
  endpoint: string;
  /** Redirect binding: the raw query string as sent (for query-signature checks). */
  rawQuery?: string;
  /** POST binding: the base64 SAMLRequest form value. */
  samlRequestBase64?: string;
  res: request.Response;
}

export interface Counts {
  sessions: number;
  accounts: number;
}

export type SsoOutcome =
  | { ok: true; location: string; sessionCookie: string; status: number }
  | { ok: false; code: string; via: 'page' | 'redirect'; status: number; location?: string; page?: string; correlationId?: string };

export interface AcsResult {
  res: request.Response;
  outcome: SsoOutcome;
  before: Counts;
  after: Counts;
}

let orgCounter = 0;

export class SamlScenario {
  private constructor(
    readonly t: TestApp,
    private readonly ownsApp: boolean,
    readonly slug: string,
    readonly orgId: string,
    /** An org-admin API key of the org. */
    readonly adminKey: string,
    readonly idp: TestIdp,
    readonly idpEntityId: string,
    /** The active service certificate, exported as PEM (what an IdP encrypts to). */
    readonly serviceCertPem: string,
    readonly serviceCertId: string,
    readonly orgCertId: string,
  ) {}

  static async start(opts: ScenarioOptions = {}): Promise<SamlScenario> {
    const ownsApp = opts.app === undefined;
    const t = opts.app ?? (await startTestApp({ engine: opts.engine ?? sqlite, ...(opts.clock ? { clock: opts.clock } : {}) }));
    try {
      const slug = `acme${++orgCounter}-${crypto.randomBytes(3).toString('hex')}.example`;
      const created = await request(t.app)
        .post('/api/v1/orgs')
        .set(auth(t.superKey))
        .send({ slug, name: `Acme ${orgCounter}`, domains: opts.domains ?? [], ssoEnabled: true });
      assert.equal(created.status, 201, `create org: ${JSON.stringify(created.body)}`);
      const adminKey = await createApiKey(t, slug, 'orgAdmin', 'scenario');

      const idp = opts.idp ?? new TestIdp();
      const idpCertPem = opts.idpCertPem ?? idp.certPem;
      const idpEntityId = opts.idpEntityId ?? idp.entityId;
      const orgCert = await request(t.app)
        .post(`/api/v1/orgs/${slug}/certificates`)
        .set(auth(adminKey))
        .send({ alias: 'idp-signing', certificate: idpCertPem });
      assert.equal(orgCert.status, 201, `import org certificate: ${JSON.stringify(orgCert.body)}`);
      if (orgCert.body.active !== true) {
        await request(t.app).post(`/api/v1/orgs/${slug}/certificates/${orgCert.body.id}/activate`).set(auth(adminKey)).expect(200);
      }

      const service = await request(t.app)
        .post(`/api/v1/orgs/${slug}/service-certificates`)
        .set(auth(adminKey))
        .send({ alias: 'sp', validityDays: 365 });
      assert.equal(service.status, 201, `generate service certificate: ${JSON.stringify(service.body)}`);
      const exported = await request(t.app)
        .get(`/api/v1/orgs/${slug}/service-certificates/${service.body.id}/export`)
        .set(auth(adminKey))
        .buffer(true)
        .parse((res, cb) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (data += chunk));
          res.on('end', () => cb(null, data));
        });
      assert.equal(exported.status, 200, 'export service certificate');
      const serviceCertPem = String(exported.body);
      assert.match(serviceCertPem, /-----BEGIN CERTIFICATE-----/);

      const org = await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
      const scenario = new SamlScenario(t, ownsApp, slug, org.id, adminKey, idp, idpEntityId, serviceCertPem, service.body.id, orgCert.body.id);
      await scenario.putSso({
        protocol: 'saml2',
        spInitiated: true,
        idpInitiated: false,
        idpEntityId,
        ssoLoginUrl: 'https://idp.test.example/sso',
        ssoLoginBinding: 'redirect',
        nameIdFormat: 'unspecified',
        defaultTargetUrl: `https://portal.${slug}/home`,
        autoAccountCreation: true,
        ...opts.sso,
      });
      return scenario;
    } catch (err) {
      if (ownsApp) await t.close();
      throw err;
    }
  }

  get clock(): ManualClock {
    return this.t.clock;
  }

  get acsPath(): string {
    return `/sso/${this.slug}/saml/acs`;
  }

  get acsUrl(): string {
    return `${TEST_PUBLIC_URL}${this.acsPath}`;
  }

  /** The configured SP entity id (the default: the service's public base URL). */
  spEntityId = TEST_PUBLIC_URL;

  /** PUT /api/v1/orgs/:org/sso with these fields merged into the current configuration. */
  async putSso(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await request(this.t.app).put(`/api/v1/orgs/${this.slug}/sso`).set(auth(this.adminKey)).send(patch);
    assert.equal(res.status, 200, `PUT sso: ${JSON.stringify(res.body)}`);
    this.spEntityId = res.body.spEntityId as string;
    return res.body as Record<string, unknown>;
  }

  /** A user of the org: the attributes auto account creation needs, e-mail in the org's domain. */
  user(local = `user${crypto.randomBytes(4).toString('hex')}`): { nameId: string; attributes: Record<string, string> } {
    const email = `${local}@${this.slug}`;
    return { nameId: email, attributes: { uid: local, email, firstname: 'Test', lastname: local } };
  }

  /**
   * Follows `GET /sso/:org/login[?target=]` and decodes the AuthnRequest it sends, by either
   * binding.
   */
  async startLogin(target?: string): Promise<StartedLogin> {
    const path = `/sso/${this.slug}/login${target !== undefined ? `?target=${encodeURIComponent(target)}` : ''}`;
    const res = await request(this.t.app).get(path).redirects(0);
    if (res.status === 302 || res.status === 303) {
      const location = res.headers.location;
      assert.ok(location, 'login redirect without Location');
      const q = location.indexOf('?');
      assert.ok(q > 0, `login redirect has no query: ${location}`);
      const rawQuery = location.slice(q + 1);
      const params = new URLSearchParams(rawQuery);
      const samlRequest = params.get('SAMLRequest');
      assert.ok(samlRequest, `no SAMLRequest in ${location}`);
      const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
      return {
        requestId: authnRequestId(xml),
        relayState: params.get('RelayState') ?? undefined,
        binding: 'redirect',
        xml,
        endpoint: location.slice(0, q),
        rawQuery,
        res,
      };
    }
    assert.equal(res.status, 200, `login: expected a redirect or a POST form, got ${res.status}: ${res.text}`);
    const form = parsePostForm(res.text);
    const samlRequest = form.fields.SAMLRequest;
    assert.ok(samlRequest, 'POST form without SAMLRequest');
    const xml = Buffer.from(samlRequest, 'base64').toString('utf8');
    return {
      requestId: authnRequestId(xml),
      relayState: form.fields.RelayState,
      binding: 'post',
      xml,
      endpoint: form.action,
      samlRequestBase64: samlRequest,
      res,
    };
  }

  /** TestIdp options for a valid Response to this org; `overrides` replace any of them. */
  responseOptions(overrides: Partial<BuildResponseOptions> = {}): BuildResponseOptions {
    const user = this.user('alice');
    return {
      now: this.clock.now(),
      issuer: this.idpEntityId,
      destination: this.acsUrl,
      recipient: this.acsUrl,
      audience: this.spEntityId,
      nameId: user.nameId,
      attributes: user.attributes,
      signAssertion: true,
      signResponse: false,
      ...overrides,
    };
  }

  /** A Response built by the scenario's TestIdp. */
  buildResponse(overrides: Partial<BuildResponseOptions> = {}): Promise<BuiltResponse> {
    return this.idp.buildResponse(this.responseOptions(overrides));
  }

  async counts(): Promise<Counts> {
    const db = this.t.ctx.database.db;
    const sessions = await db.selectFrom('saml_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const accounts = await db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { sessions: Number(sessions.n), accounts: Number(accounts.n) };
  }

  /** POSTs raw form fields to the ACS (for bodies that are not a base64 Response). */
  async postForm(fields: Record<string, string> | string): Promise<AcsResult> {
    const before = await this.counts();
    const res = await request(this.t.app).post(this.acsPath).type('form').send(fields).redirects(0);
    const after = await this.counts();
    return { res, outcome: ssoOutcome(res), before, after };
  }

  /** POSTs `SAMLResponse` (and `RelayState` when given) to the ACS, as the HTTP-POST binding does. */
  post(samlResponseBase64: string, relayState?: string): Promise<AcsResult> {
    return this.postForm({ SAMLResponse: samlResponseBase64, ...(relayState !== undefined ? { RelayState: relayState } : {}) });
  }

  /** Alias of `post` with the name the issue uses. */
  postResponse(samlResponseBase64: string, relayState?: string): Promise<AcsResult> {
    return this.post(samlResponseBase64, relayState);
  }

  /** SP-initiated sign-in: login, a Response answering it (with `overrides`), POST to the ACS. */
  async signIn(overrides: Partial<BuildResponseOptions> = {}, target?: string): Promise<AcsResult & { login: StartedLogin; built: BuiltResponse }> {
    const login = await this.startLogin(target);
    const built = await this.buildResponse({ inResponseTo: login.requestId, ...overrides });
    return { ...(await this.post(built.base64, login.relayState)), login, built };
  }

  /** Creates an account through the users API (e.g. a victim an attack must not reach). */
  async createAccount(body: Record<string, unknown>): Promise<{ id: string }> {
    const res = await request(this.t.app).post(`/api/v1/orgs/${this.slug}/users`).set(auth(this.adminKey)).send(body);
    assert.equal(res.status, 201, `create account: ${JSON.stringify(res.body)}`);
    return { id: res.body.id as string };
  }

  /** The session a successful ACS answer created, found by the hash of its cookie. */
  async sessionFor(cookieValue: string) {
    const idHash = crypto.createHash('sha256').update(cookieValue, 'utf8').digest('hex');
    return this.t.ctx.database.db.selectFrom('saml_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  }

  async accountById(id: string) {
    return this.t.ctx.database.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async close(): Promise<void> {
    if (this.ownsApp) await this.t.close();
  }
}

export function startSamlScenario(opts: ScenarioOptions = {}): Promise<SamlScenario> {
  return SamlScenario.start(opts);
}

// ---------------------------------------------------------------------------------------------
// Reading what the ACS answered

function setCookies(res: request.Response): string[] {
  const raw = res.headers['set-cookie'] as unknown;
  if (raw === undefined) return [];
  return Array.isArray(raw) ? (raw as string[]) : [String(raw)];
}

/** The value of a Set-Cookie `fedbridge_session` that sets a session (not one that clears it). */
export function sessionCookieOf(res: request.Response): string | undefined {
  for (const header of setCookies(res)) {
    const m = /^fedbridge_session=([^;]*)/.exec(header);
    if (m && m[1] !== '' && !/expires=Thu, 01 Jan 1970/i.test(header) && !/max-age=0\b/i.test(header)) return decodeURIComponent(m[1]!);
  }
  return undefined;
}

const CODE = /\bSSO_[A-Z_]+\b/;

/**
 * What the ACS did: a sign-in (302 to the target with the session cookie) or a failure, shown
 * either as a redirect to the org's error URL with `errorCode=` or as an HTML error page.
 */
export function ssoOutcome(res: request.Response): SsoOutcome {
  const location = res.headers.location as string | undefined;
  if ((res.status === 302 || res.status === 303) && location) {
    let errorCode: string | null = null;
    try {
      errorCode = new URL(location, TEST_PUBLIC_URL).searchParams.get('errorCode');
    } catch {
      /* not a URL: handled below */
    }
    if (errorCode !== null) return { ok: false, code: errorCode, via: 'redirect', status: res.status, location };
    const cookie = sessionCookieOf(res);
    if (cookie !== undefined) return { ok: true, location, sessionCookie: cookie, status: res.status };
  }
  const page = res.text ?? '';
  const code = CODE.exec(page)?.[0];
  if (code === undefined) {
    throw new assert.AssertionError({
      message: `ACS answered neither a sign-in nor an SSO error: ${res.status} ${location ?? ''} ${page.slice(0, 500)}`,
    });
  }
  const correlationId = /correlation[\s\S]{0,80}?([A-Za-z0-9][A-Za-z0-9._:-]{7,})/i.exec(page.replace(/<[^>]+>/g, ' '))?.[1];
  return { ok: false, code, via: 'page', status: res.status, page, ...(correlationId ? { correlationId } : {}) };
}

/**
 * The sign-in was refused with exactly `code`, and it left nothing behind: no session cookie,
 * no session row, no new account.
 */
export function assertRefused(result: AcsResult, code: SsoErrorCode, message?: string): void {
  const { outcome, res } = result;
  const where = message ? `${message}: ` : '';
  assert.equal(outcome.ok, false, `${where}expected ${code}, but the sign-in succeeded (→ ${outcome.ok ? outcome.location : ''})`);
  if (outcome.ok) return;
  assert.equal(outcome.code, code, `${where}expected ${code}, got ${outcome.code}${outcome.page ? '' : ` (${outcome.location})`}`);
  assert.equal(sessionCookieOf(res), undefined, `${where}a refused sign-in must not set ${SESSION_COOKIE}`);
  assert.deepEqual(result.after, result.before, `${where}a refused sign-in must not create sessions or accounts`);
  if (outcome.via === 'page') {
    // R-ERR-1: code, a correlation id, never a stack trace or the raw assertion.
    assert.ok(outcome.correlationId, `${where}the error page must show a correlation id`);
    assert.doesNotMatch(outcome.page!, /\bat \S+ \(.*:\d+:\d+\)|node_modules|\.ts:\d+/, `${where}the error page must not show a stack trace`);
    assert.doesNotMatch(outcome.page!, /<(saml2?|samlp):|SAMLResponse=|&lt;saml/i, `${where}the error page must not show the raw message`);
  }
}

/** The sign-in succeeded: 302 with the session cookie, one new session row for it, for `nameId`. */
export async function assertSignedIn(
  s: SamlScenario,
  result: AcsResult,
  expected: { nameId: string; location?: string },
): Promise<{ session: NonNullable<Awaited<ReturnType<SamlScenario['sessionFor']>>>; account: NonNullable<Awaited<ReturnType<SamlScenario['accountById']>>> }> {
  const { outcome } = result;
  assert.ok(outcome.ok, `expected a sign-in, got ${outcome.ok ? '' : `${outcome.code} (${outcome.page ? 'page' : outcome.location})`}`);
  if (!outcome.ok) throw new Error('unreachable');
  if (expected.location !== undefined) assert.equal(outcome.location, expected.location);
  assert.equal(result.after.sessions, result.before.sessions + 1, 'exactly one new session row');
  const session = await s.sessionFor(outcome.sessionCookie);
  assert.ok(session, 'the session cookie names a stored session (by its hash)');
  assert.equal(session.org_id, s.orgId);
  assert.equal(session.name_id, expected.nameId, 'the session is for the NameID that was signed');
  assert.equal(session.revoked_at, null);
  const account = await s.accountById(session.account_id);
  assert.ok(account, 'the session belongs to an account of the org');
  assert.equal(account.org_id, s.orgId);
  return { session, account };
}

// ---------------------------------------------------------------------------------------------
// Tampering with ciphertext (the Jager–Somorovsky attacker on unauthenticated AES-CBC)

/**
 * Flips one bit of the AES-CBC content ciphertext (IV ‖ blocks) of the Response's one
 * EncryptedAssertion, as an attacker probing for a padding or parse oracle would:
 * - `padding`: the top bit of the last byte of the block before the last, so the last
 *   plaintext byte (the XML Encryption padding length) becomes ≥ 128 — a padding error;
 * - `plaintext`: the low bit of the first IV byte, so the plaintext starts with `=` instead
 *   of `<` — valid UTF-8 with correct padding that is no longer XML.
 */
export function tamperCbcCiphertext(xml: string, how: 'padding' | 'plaintext'): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const encryptedData = doc.getElementsByTagNameNS(XENC, 'EncryptedData')[0];
  assert.ok(encryptedData, 'no xenc:EncryptedData to tamper with');
  const method = Array.from(encryptedData.childNodes).find((n): n is Element => n.nodeType === 1 && (n as Element).localName === 'EncryptionMethod');
  assert.match(method?.getAttribute('Algorithm') ?? '', /#aes\d+-cbc$/, 'the content is not AES-CBC');
  const cipherData = Array.from(encryptedData.childNodes).find((n): n is Element => n.nodeType === 1 && (n as Element).localName === 'CipherData');
  const cipherValue = cipherData?.getElementsByTagNameNS(XENC, 'CipherValue')[0];
  assert.ok(cipherValue, 'no CipherData/CipherValue in EncryptedData');
  const data = Buffer.from((cipherValue.textContent ?? '').replace(/\s+/g, ''), 'base64');
  assert.ok(data.length >= 48 && data.length % 16 === 0, 'IV and at least two blocks');
  if (how === 'padding') data[data.length - 17]! ^= 0x80;
  else data[0]! ^= 0x01;
  cipherValue.textContent = data.toString('base64');
  return new XMLSerializer().serializeToString(doc);
}

// ---------------------------------------------------------------------------------------------
// Decoding what the login route sent (independently of the code under test)

function authnRequestId(xml: string): string {
  const doc = new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') throw new Error(`AuthnRequest is not well-formed: ${msg}`);
    },
  }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement as Element | null;
  assert.ok(root, 'AuthnRequest has no root element');
  assert.equal(root.namespaceURI, SAMLP);
  assert.equal(root.localName, 'AuthnRequest');
  const id = root.getAttribute('ID');
  assert.ok(id, 'AuthnRequest has no ID');
  return id;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeHtml(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const n = entity[1]?.toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(n);
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    out[m[1]!.toLowerCase()] = unescapeHtml(m[3] ?? m[4] ?? '');
  }
  return out;
}

/** The action and hidden fields of an auto-submitting SAML POST form. */
export function parsePostForm(html: string): { action: string; fields: Record<string, string> } {
  const formTag = /<form\b[^>]*>/i.exec(html)?.[0];
  assert.ok(formTag, 'no <form> in the POST binding page');
  const action = attributesOf(formTag).action;
  assert.ok(action, 'the form has no action');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const a = attributesOf(m[0]);
    if (a.name !== undefined && a.value !== undefined) fields[a.name] = a.value;
  }
  return { action, fields };
}
