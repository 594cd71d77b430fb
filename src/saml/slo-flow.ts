/**
 * Single Logout for the web client (R-SAML-9): `POST /logout`, `GET|POST /sso/:org/saml/slo`.
 *
 * SP-initiated: the server session is revoked and its OAuth tokens with it (one transaction),
 * the cookie cleared by the route; then, when the IdP's metadata declared a
 * SingleLogoutService, a LogoutRequest signed with the active service key is sent (its ID
 * kept, single use, ten minutes, for the LogoutResponse); else, with "Single Logout for Web
 * Client" on, the browser goes to the Customer SSO Service Logout URL; else it sees the
 * signed-out page.
 *
 * From the IdP: messages are verified like Responses — a query signature (HTTP-Redirect) or
 * an enveloped signature through the one verifier (HTTP-POST), by the org's trusted
 * certificates, then Issuer, Destination and freshness. A LogoutResponse must answer a
 * LogoutRequest we sent (consumed once). A LogoutRequest is accepted once (its ID remembered
 * per org, SSO_REPLAY after), revokes the sessions it names — NameID, and SessionIndex when
 * given; the browser's own cookie session only when it is one of them — and their tokens, and
 * is answered with a LogoutResponse signed with the active service key, to the IdP's SLO
 * endpoint. A signature by a key the org does not know triggers
 * one metadata refresh (refreshMetadataOnUnknownKey) and one retry.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import type { AppContext } from '../app-context.js';
import { revokeTokensForSessions } from '../oauth/token-revocation.js';
import { consumeLogoutRequest, insertLogoutRequest, rememberReceivedLogoutRequest } from '../store/logout-requests.js';
import { findMetadataSource, type MetadataSource } from '../store/metadata-sources.js';
import { findOrgById, findOrgBySlug, type Org } from '../store/orgs.js';
import { findActiveSession, revokeSession, revokeSessionsBySessionIndex, type SamlSession } from '../store/saml-sessions.js';
import { verifySignedElement } from '../xml/signed-content-verifier.js';
import { parseXmlStrict } from '../xml/strict-parser.js';
import { newSamlId } from './authn-request.js';
import { MAX_MESSAGE_AGE_MS, buildLogoutRequest, buildLogoutResponse, readLogoutMessage, type LogoutMessage } from './logout/logout-messages.js';
import { renderSignedOutPage } from './logout/signed-out-page.js';
import { refreshMetadataOnUnknownKey } from './metadata-refresh.js';
import { spEndpoints } from './metadata-export-flow.js';
import { BINDING, STATUS } from './namespaces.js';
import { renderPostForm, signEnveloped } from './post-binding.js';
import { decodeRedirect, encodeRedirect } from './redirect-binding.js';
import { newRelayStateHandle } from './relay-state.js';
import { hashSessionId, isSessionIdShape } from './session-cookie.js';
import type { SsoConfig } from './sso-config.js';
import { loadSsoConfig } from './sso-config-service.js';
import { SsoError } from './sso-error.js';

/** A sent LogoutRequest can be answered for ten minutes, once. */
export const LOGOUT_REQUEST_TTL_MS = 10 * 60_000;
/** Same bound as the ACS body: a logout message is far smaller. */
const MAX_MESSAGE_BYTES = 256 * 1024;

export type SloAction =
  | { kind: 'redirect'; location: string }
  /** An auto-submitting form to `endpoint`; its script needs `nonce` in the CSP. */
  | { kind: 'post'; html: string; endpoint: string; nonce: string }
  | { kind: 'page'; html: string };

export interface SloOutcome {
  action: SloAction;
  /** Slug of the org the logout concerned, when known (logs, error target). */
  org?: string;
  /** Sessions revoked by this request. */
  sessionsRevoked: number;
  /** The browser's session cookie no longer names a live session: clear it. */
  clearCookie: boolean;
}

export interface SloOrg {
  org: Org;
  config: SsoConfig;
  source: MetadataSource | undefined;
}

async function loadSloOrg(ctx: AppContext, org: Org): Promise<SloOrg> {
  const { config } = await loadSsoConfig(ctx.database.db, org.id, ctx.config);
  return { org, config, source: await findMetadataSource(ctx.database.db, org.id) };
}

/** The org named in the URL, or SSO_CONFIG. */
export async function loadSloOrgBySlug(ctx: AppContext, slug: string): Promise<SloOrg> {
  const org = await findOrgBySlug(ctx.database.db, slug.toLowerCase());
  if (!org) throw new SsoError('SSO_CONFIG', `no organisation ${JSON.stringify(slug.slice(0, 100))}`);
  return loadSloOrg(ctx, org);
}

function signedOut(opts: { partial?: boolean } = {}): SloAction {
  return { kind: 'page', html: renderSignedOutPage(opts) };
}

/** Sends a protocol message to the IdP's SLO endpoint by its binding, signed when a key is given. */
function sendToIdp(input: {
  endpoint: string;
  binding: string;
  kind: 'SAMLRequest' | 'SAMLResponse';
  xml: string;
  relayState?: string | undefined;
  signing?: { key: KeyObject; certificatePem: string } | undefined;
}): SloAction {
  if (input.binding === BINDING.httpRedirect) {
    return {
      kind: 'redirect',
      location: encodeRedirect({
        endpoint: input.endpoint,
        message: input.xml,
        kind: input.kind,
        relayState: input.relayState,
        ...(input.signing ? { signingKey: input.signing.key } : {}),
      }),
    };
  }
  const message = input.signing ? signEnveloped(input.xml, { key: input.signing.key, cert: input.signing.certificatePem }) : input.xml;
  const nonce = randomBytes(16).toString('base64');
  return {
    kind: 'post',
    endpoint: input.endpoint,
    nonce,
    html: renderPostForm({
      endpoint: input.endpoint,
      field: input.kind,
      value: Buffer.from(message, 'utf8').toString('base64'),
      relayState: input.relayState,
      nonce,
    }),
  };
}

/** The IdP's SLO endpoint from its metadata, when it declared one with a browser binding. */
function idpSloEndpoint(source: MetadataSource | undefined, forResponse: boolean): { location: string; binding: string } | undefined {
  if (!source?.sloLocation || !source.sloBinding) return undefined;
  if (source.sloBinding !== BINDING.httpRedirect && source.sloBinding !== BINDING.httpPost) return undefined;
  return { location: (forResponse && source.sloResponseLocation) || source.sloLocation, binding: source.sloBinding };
}

/** Revokes sessions and their OAuth tokens in one transaction; returns how many sessions. */
async function endSessions(ctx: AppContext, revoke: (trx: Parameters<typeof revokeTokensForSessions>[0]) => Promise<string[]>): Promise<number> {
  return ctx.database.db.transaction().execute(async (trx) => {
    const hashes = await revoke(trx);
    await revokeTokensForSessions(trx, hashes);
    return hashes.length;
  });
}

// ---------------------------------------------------------------------------------------------
// SP-initiated

/**
 * `POST /logout` and `POST /sso/:org/saml/slo` without a SAML message: ends the caller's
 * session (the cookie value `sessionId`) and decides where the browser goes next.
 */
export async function startLogout(ctx: AppContext, input: { sessionId: unknown; orgSlug?: string | undefined }): Promise<SloOutcome> {
  const now = ctx.clock.now();
  let session: SamlSession | undefined;
  let sessionsRevoked = 0;
  if (isSessionIdShape(input.sessionId)) {
    const idHash = hashSessionId(input.sessionId);
    session = await findActiveSession(ctx.database.db, idHash, now);
    if (session) sessionsRevoked = await endSessions(ctx, async (trx) => ((await revokeSession(trx, idHash, now)) ? [idHash] : []));
  }

  // The org of the session (it is the one the IdP knows), else the one in the URL.
  const org = session
    ? await findOrgById(ctx.database.db, session.orgId)
    : input.orgSlug !== undefined
      ? await findOrgBySlug(ctx.database.db, input.orgSlug.toLowerCase())
      : undefined;
  if (!org) return { action: signedOut(), sessionsRevoked, clearCookie: true };
  const so = await loadSloOrg(ctx, org);
  const base = { org: org.slug, sessionsRevoked, clearCookie: true };

  const slo = idpSloEndpoint(so.source, false);
  if (session && slo && org.ssoEnabled && so.config.protocol === 'saml2') {
    const signing = await ctx.orgKeys.activeServiceSigning(org);
    if (signing) {
      const id = newSamlId();
      const relayState = newRelayStateHandle();
      const xml = buildLogoutRequest({
        id,
        issueInstant: now,
        destination: slo.location,
        issuer: so.config.spEntityId,
        nameId: session.nameId,
        nameIdFormat: session.nameIdFormat,
        sessionIndex: session.sessionIndex,
      });
      await insertLogoutRequest(ctx.database.db, { id, orgId: org.id, relayState, createdAt: now, expiresAt: now + LOGOUT_REQUEST_TTL_MS });
      return { ...base, action: sendToIdp({ endpoint: slo.location, binding: slo.binding, kind: 'SAMLRequest', xml, relayState, signing }) };
    }
    // An unsigned LogoutRequest would be refused by the IdP (and should be): fall back.
    ctx.logger.warn({ org: org.slug }, 'single logout skipped: no active service certificate to sign the LogoutRequest');
  }
  if (so.config.singleLogout && so.config.logoutUrl) return { ...base, action: { kind: 'redirect', location: so.config.logoutUrl } };
  return { ...base, action: signedOut() };
}

// ---------------------------------------------------------------------------------------------
// From the IdP

export interface SloMessageInput {
  method: 'GET' | 'POST';
  /** GET: the raw query string as received (for the query signature). */
  rawQuery?: string | undefined;
  /** POST: the form fields. */
  form?: Readonly<Record<string, unknown>> | undefined;
}

/** True when the request carries a SAML message (else it is an SP-initiated logout). */
export function carriesSamlMessage(input: SloMessageInput): boolean {
  if (input.method === 'GET') return /(^|[?&])SAML(Request|Response)=/.test(input.rawQuery ?? '');
  return typeof input.form?.SAMLRequest === 'string' || typeof input.form?.SAMLResponse === 'string';
}

interface Received {
  message: LogoutMessage;
  relayState: string | undefined;
}

function decodePostMessage(form: Readonly<Record<string, unknown>>): { kind: 'SAMLRequest' | 'SAMLResponse'; root: Element; relayState: string | undefined } {
  const request = form.SAMLRequest;
  const response = form.SAMLResponse;
  if ((typeof request === 'string') === (typeof response === 'string')) {
    throw new SsoError('SSO_MALFORMED', 'exactly one of SAMLRequest or SAMLResponse is required');
  }
  const kind = typeof request === 'string' ? 'SAMLRequest' : 'SAMLResponse';
  const value = ((kind === 'SAMLRequest' ? request : response) as string).replace(/\s+/g, '');
  if (value.length > (MAX_MESSAGE_BYTES * 4) / 3 + 4 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new SsoError('SSO_MALFORMED', `${kind} is not base64 of at most ${MAX_MESSAGE_BYTES} bytes`);
  }
  const root = parseXmlStrict(Buffer.from(value, 'base64'), { maxBytes: MAX_MESSAGE_BYTES }).documentElement!;
  const relayState = typeof form.RelayState === 'string' ? form.RelayState : undefined;
  return { kind, root, relayState };
}

/** Verifies the message with the org's trusted IdP keys; returns the root to read (verified content). */
async function verifyOnce(so: SloOrg, input: SloMessageInput, keys: readonly KeyObject[]): Promise<{ kind: 'SAMLRequest' | 'SAMLResponse'; root: Element; relayState: string | undefined }> {
  if (keys.length === 0) throw new SsoError('SSO_SIGNATURE', 'the organisation has no IdP certificate to verify logout messages with');
  if (input.method === 'GET') {
    const decoded = decodeRedirect(input.rawQuery ?? '', { verifyKeys: keys, allowSha1: so.config.allowSha1, maxMessageBytes: MAX_MESSAGE_BYTES });
    // The query signature covered the whole deflated message: what was parsed is what was signed.
    const root = parseXmlStrict(decoded.xml, { maxBytes: MAX_MESSAGE_BYTES }).documentElement!;
    return { kind: decoded.kind, root, relayState: decoded.relayState };
  }
  const posted = decodePostMessage(input.form ?? {});
  const verified = verifySignedElement(posted.root, keys, { allowSha1: so.config.allowSha1 });
  return { kind: posted.kind, root: verified.element, relayState: posted.relayState };
}

async function receive(ctx: AppContext, initial: SloOrg, input: SloMessageInput): Promise<Received> {
  let so = initial;
  const keysOf = (o: SloOrg) => ctx.orgKeys.idpVerificationKeys(o.org, { trustAll: o.config.trustAllCertificates });
  let decoded;
  try {
    decoded = await verifyOnce(so, input, await keysOf(so));
  } catch (err) {
    if (!(err instanceof SsoError) || err.code !== 'SSO_SIGNATURE') throw err;
    // Perhaps the IdP rolled its key over: refresh followed metadata once, then try again.
    const refresh = await refreshMetadataOnUnknownKey(ctx, so.org);
    if (!refresh.certificatesChanged) throw err;
    const org = await findOrgById(ctx.database.db, so.org.id);
    if (!org) throw err;
    so = await loadSloOrg(ctx, org);
    decoded = await verifyOnce(so, input, await keysOf(so));
  }
  const message = readLogoutMessage(decoded.root, {
    idpEntityId: so.config.idpEntityId ?? '',
    sloUrl: spEndpoints(ctx.config.publicUrl, so.org).sloUrl,
    now: ctx.clock.now(),
    clockSkewSeconds: so.config.clockSkewSeconds,
  });
  const expected = decoded.kind === 'SAMLRequest' ? 'LogoutRequest' : 'LogoutResponse';
  if (message.kind !== expected) throw new SsoError('SSO_MALFORMED', `${decoded.kind} carries a ${message.kind}`);
  return { message, relayState: decoded.relayState };
}

/**
 * `GET|POST /sso/:org/saml/slo` carrying a SAMLRequest or SAMLResponse from the IdP. Throws
 * SsoError for anything refused (the route's SSO error handler renders it).
 */
export async function handleSloMessage(
  ctx: AppContext,
  so: SloOrg,
  input: SloMessageInput,
  browser: { sessionId: unknown },
): Promise<SloOutcome> {
  if (!so.org.ssoEnabled) throw new SsoError('SSO_CONFIG', 'single sign-on is not enabled for this organisation');
  if (!so.config.idpEntityId) throw new SsoError('SSO_CONFIG', 'no IdP entity id configured');
  const { message, relayState } = await receive(ctx, so, input);
  const now = ctx.clock.now();

  if (message.kind === 'LogoutResponse') {
    if (!message.inResponseTo || !(await consumeLogoutRequest(ctx.database.db, so.org.id, message.inResponseTo, now))) {
      throw new SsoError('SSO_SUBJECT_CONFIRMATION', 'the LogoutResponse does not answer a live LogoutRequest of this organisation');
    }
    // The local session ended when the request was sent; the browser may still hold the cookie.
    const sessionsRevoked = await endBrowserSession(ctx, browser.sessionId, now);
    const partial = message.statusCode !== STATUS.success;
    if (partial) ctx.logger.info({ org: so.org.slug, status: message.statusCode }, 'the IdP reported a partial logout');
    return { org: so.org.slug, sessionsRevoked, clearCookie: true, action: signedOut({ partial }) };
  }

  // IdP-initiated LogoutRequest: accepted once, then it ends the sessions it names — and only
  // those: the browser's cookie session too when it is one of them, never just because the
  // browser came along (a signed request for someone else must not sign this user out).
  // readLogoutMessage refuses a request whose IssueInstant is older than MAX_MESSAGE_AGE_MS +
  // skew, and one issued more than skew ahead; so after now + 2·skew + MAX_MESSAGE_AGE_MS
  // every copy is refused anyway and the remembered ID may go.
  const rememberUntil = now + MAX_MESSAGE_AGE_MS + 2 * so.config.clockSkewSeconds * 1000 + 1;
  const indexes: Array<string | undefined> = message.sessionIndexes.length > 0 ? message.sessionIndexes : [undefined];
  const sessionsRevoked = await endSessions(ctx, async (trx) => {
    // Same transaction as the revocations: a failure leaves the ID unused for a retry.
    if (!(await rememberReceivedLogoutRequest(trx, { orgId: so.org.id, id: message.id, expiresAt: rememberUntil, now }))) {
      throw new SsoError('SSO_REPLAY', `LogoutRequest ${JSON.stringify(message.id.slice(0, 100))} was already received`);
    }
    const hashes: string[] = [];
    for (const index of indexes) hashes.push(...(await revokeSessionsBySessionIndex(trx, so.org.id, message.nameId, index, now)));
    return hashes;
  });
  ctx.logger.info({ org: so.org.slug, sessionsRevoked }, 'IdP-initiated logout');
  const clearCookie = await cookieSessionGone(ctx, browser.sessionId, now);

  const endpoint = idpSloEndpoint(so.source, true) ?? (so.config.logoutUrl ? { location: so.config.logoutUrl, binding: BINDING.httpRedirect } : undefined);
  if (!endpoint) return { org: so.org.slug, sessionsRevoked, clearCookie, action: signedOut() };
  const signing = await ctx.orgKeys.activeServiceSigning(so.org);
  if (!signing) ctx.logger.warn({ org: so.org.slug }, 'LogoutResponse sent unsigned: no active service certificate');
  const xml = buildLogoutResponse({
    id: newSamlId(),
    issueInstant: now,
    destination: endpoint.location,
    issuer: so.config.spEntityId,
    inResponseTo: message.id,
  });
  return {
    org: so.org.slug,
    sessionsRevoked,
    clearCookie,
    action: sendToIdp({ endpoint: endpoint.location, binding: endpoint.binding, kind: 'SAMLResponse', xml, relayState, signing }),
  };
}

/** Revokes the session of the cookie the browser sent along (the answer to our own LogoutRequest). */
async function endBrowserSession(ctx: AppContext, sessionId: unknown, now: number): Promise<number> {
  if (!isSessionIdShape(sessionId)) return 0;
  const idHash = hashSessionId(sessionId);
  const session = await findActiveSession(ctx.database.db, idHash, now);
  if (!session) return 0;
  return endSessions(ctx, async (trx) => ((await revokeSession(trx, idHash, now)) ? [idHash] : []));
}

/** The cookie names no live session (any more): the browser may drop it. */
async function cookieSessionGone(ctx: AppContext, sessionId: unknown, now: number): Promise<boolean> {
  if (!isSessionIdShape(sessionId)) return false;
  return (await findActiveSession(ctx.database.db, hashSessionId(sessionId), now)) === undefined;
}
