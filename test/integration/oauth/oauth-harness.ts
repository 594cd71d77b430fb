/**
 * Test harness of the OAuth suites: the real app listening on a loopback port (openid-client
 * speaks real HTTP), a fetch that maps the public URL onto it, a small cookie-jar browser that
 * follows redirects, and shortcuts for what other concerns own (accounts, SAML sessions).
 *
 * `completeSso` shortcuts the IdP round trip by creating the server-side session through the
 * sessions store and setting the fedbridge_session cookie — what the ACS does on success
 * (R-SAML-6) — so the OAuth suites stay fast and independent of the SAML checks;
 * saml-end-to-end.test.ts runs the real SSO login, test IdP and ACS instead.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as client from 'openid-client';
import request from 'supertest';
import { hashSessionId, newSessionId } from '../../../src/saml/session-cookie.js';
import { insertAccount } from '../../../src/store/accounts.js';
import { createSession } from '../../../src/store/saml-sessions.js';
import type { TestEngine } from '../../support/databases.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';

export const ISSUER = TEST_PUBLIC_URL;
export const TOKEN_ENDPOINT = `${ISSUER}/oauth/token`;
export const SESSION_TOKEN_TYPE = 'urn:fedbridge:params:oauth:token-type:session';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const SAML2_BEARER = 'urn:ietf:params:oauth:grant-type:saml2-bearer';

export interface Harness {
  t: TestApp;
  base: string;
  org: { id: string; slug: string };
  fetch: client.CustomFetch;
  close(): Promise<void>;
}

export async function startHarness(engine: TestEngine, opts: { orgSlug?: string; env?: Record<string, string> } = {}): Promise<Harness> {
  const t = await startTestApp({ engine, ...(opts.env && { env: opts.env }) });
  const slug = opts.orgSlug ?? 'acme.com';
  const created = await request(t.app)
    .post('/api/v1/orgs')
    .set('Authorization', `Bearer ${t.superKey}`)
    .send({ slug, name: 'Acme', ssoEnabled: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return listen(t, { id: created.body.id, slug }, { closeApp: true });
}

/** Serves an existing test app on a loopback port (e.g. a SAML scenario's). */
export async function listen(t: TestApp, org: { id: string; slug: string }, opts: { closeApp: boolean }): Promise<Harness> {
  const server: Server = await new Promise((resolve) => {
    const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  // Suites block the event loop (spawnSync of the CLI): an idle keep-alive socket whose server
  // timer fires late would be closed under the next request (ECONNRESET). close() ends them all.
  server.keepAliveTimeout = 10 * 60_000;
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fetchLocal: client.CustomFetch = (url, options) => fetch(url.replace(ISSUER, base), options as RequestInit);
  return {
    t,
    base,
    org,
    fetch: fetchLocal,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
      if (opts.closeApp) await t.close();
    },
  };
}

export async function createOrg(h: Harness, slug: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await request(h.t.app).post('/api/v1/orgs').set('Authorization', `Bearer ${h.t.superKey}`).send({ slug, name: slug, ssoEnabled: true, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

export async function createAccount(
  h: Harness,
  a: { email: string; orgId?: string; uid?: string; firstname?: string; lastname?: string; ssoId?: string },
): Promise<string> {
  const id = crypto.randomUUID();
  await insertAccount(h.t.ctx.database.db, {
    id,
    orgId: a.orgId ?? h.org.id,
    uid: a.uid ?? a.email,
    email: a.email,
    firstname: a.firstname ?? 'Jane',
    lastname: a.lastname ?? 'Doe',
    status: 'active',
    role: 'member',
    ssoId: a.ssoId ?? null,
    attributes: {},
    updateTimeStamp: null,
    createdAt: h.t.clock.now(),
  });
  return id;
}

/** What the ACS does on success: a server-side session and its cookie value. */
export async function createSamlSession(h: Harness, accountId: string, orgId = h.org.id): Promise<{ cookie: string; idHash: string }> {
  const cookie = newSessionId();
  const idHash = hashSessionId(cookie);
  const now = h.t.clock.now();
  await createSession(h.t.ctx.database.db, {
    idHash,
    orgId,
    accountId,
    nameId: 'jane@acme.com',
    nameIdFormat: null,
    sessionIndex: null,
    createdAt: now,
    expiresAt: now + 12 * 3600 * 1000,
  });
  return { cookie, idHash };
}

export async function registerClient(
  h: Harness,
  body: Record<string, unknown>,
): Promise<{ clientId: string; clientSecret?: string }> {
  const r = await request(h.t.app).post('/api/v1/clients').set('Authorization', `Bearer ${h.t.superKey}`).send(body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { clientId: r.body.clientId, ...(r.body.clientSecret && { clientSecret: r.body.clientSecret }) };
}

export const NATIVE_CLIENT = {
  name: 'Desktop app',
  type: 'public',
  redirectUris: ['http://127.0.0.1/callback'],
  grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
  scopes: ['openid', 'email', 'profile', 'offline_access'],
};

/** openid-client configured against the harness (discovery through the real endpoint). */
export async function oidcClient(h: Harness, clientId: string, secret?: string, algorithm: 'oidc' | 'oauth2' = 'oidc'): Promise<client.Configuration> {
  return client.discovery(new URL(ISSUER), clientId, secret, secret ? client.ClientSecretBasic(secret) : client.None(), {
    [client.customFetch]: h.fetch,
    algorithm,
  });
}

/** A raw form POST to a token-service endpoint, for exact status and body checks. */
export async function postForm(
  h: Harness,
  path: string,
  params: Record<string, string>,
  auth?: { clientId: string; clientSecret: string },
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`;
  const res = await fetch(`${h.base}${path}`, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

/** Cookie exchange (RFC 8693) for a client: the quickest way to a token family in tests. */
export async function exchangeCookie(h: Harness, clientId: string, cookie: string, extra: Record<string, string> = {}) {
  return postForm(h, '/oauth/token', {
    grant_type: TOKEN_EXCHANGE,
    client_id: clientId,
    subject_token: cookie,
    subject_token_type: SESSION_TOKEN_TYPE,
    ...extra,
  });
}

export function refresh(h: Harness, clientId: string, refreshToken: string, extra: Record<string, string> = {}) {
  return postForm(h, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken, ...extra });
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** A browser's cookie handling, reduced to names, values and paths; follows redirects by hand. */
export class Browser {
  readonly cookies: StoredCookie[] = [];
  constructor(private readonly h: Harness) {}

  setCookie(name: string, value: string, path = '/'): void {
    const i = this.cookies.findIndex((c) => c.name === name && c.path === path);
    if (i >= 0) this.cookies.splice(i, 1);
    this.cookies.push({ name, value, path });
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (k!.toLowerCase() === 'path' && v) path = v;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k!.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) expired = true;
      }
      const i = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (i >= 0) this.cookies.splice(i, 1);
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  private cookieHeader(pathname: string): string {
    return this.cookies
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** One request (GET, or POST of a form); `url` is on the public URL or relative to it. */
  async visit(url: string, form?: Record<string, string>): Promise<{ status: number; location?: string; body: string; url: string; headers: Headers }> {
    const abs = new URL(url, ISSUER);
    assert.equal(abs.origin, ISSUER, `the browser only talks to the service here, not ${abs.origin}`);
    const headers: Record<string, string> = { cookie: this.cookieHeader(abs.pathname) };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${this.h.base}${abs.pathname}${abs.search}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers,
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    this.store(res.headers.getSetCookie());
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, ...(location && { location: new URL(location, abs).href }), body: await res.text(), url: abs.href, headers: res.headers };
  }

  /** Follows redirects on the service until one leaves it (client redirect, SSO) or a page is shown. */
  async follow(url: string, form?: Record<string, string>): Promise<{ status: number; location?: string; body: string; url: string; headers: Headers }> {
    let step = await this.visit(url, form);
    for (let i = 0; i < 20; i++) {
      if (!step.location || ![301, 302, 303, 307].includes(step.status)) return step;
      const next = new URL(step.location);
      if (next.origin !== ISSUER || next.pathname.startsWith('/sso/')) return step;
      step = await this.visit(next.href);
    }
    throw new Error('too many redirects');
  }
}

/**
 * Plays the org's SSO for a browser stopped at /sso/:org/login?target=…: creates the session
 * the ACS would, sets its cookie and returns the target to continue with.
 */
export async function completeSso(h: Harness, browser: Browser, ssoUrl: string, accountId: string, orgId = h.org.id): Promise<{ target: string; cookie: string; idHash: string }> {
  const u = new URL(ssoUrl);
  assert.match(u.pathname, /^\/sso\/[^/]+\/login$/);
  const target = u.searchParams.get('target');
  assert.ok(target, 'the SSO login URL carries a target');
  const { cookie, idHash } = await createSamlSession(h, accountId, orgId);
  browser.setCookie('fedbridge_session', cookie, '/');
  return { target: new URL(target, ISSUER).href, cookie, idHash };
}
