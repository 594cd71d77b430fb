/**
 * The SAML session cookie (R-SAML-6): an opaque 256-bit id whose SHA-256 hash keys the
 * server-side session (src/store/saml-sessions.ts), so a database leak yields no usable
 * cookie. Pure: the ACS and logout flows set and clear it with these options.
 */
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../crypto/secret-token.js';

export const SESSION_COOKIE_NAME = 'fedbridge_session';

const SESSION_ID_BYTES = 32;
/** 32 bytes in base64url without padding. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/** Whether a cookie value has the shape of one of our ids (cheap refusal before any lookup). */
export function isSessionIdShape(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

/** What the session store keeps and looks up instead of the id itself. */
export function hashSessionId(sessionId: string): string {
  return hashSecret(sessionId);
}

/**
 * When a new session ends: the earliest of the assertion's SessionNotOnOrAfter (when given)
 * and now + the org's maximum session length. A result at or before `now` means the IdP's
 * session is already over and no session may be created.
 */
export function sessionExpiry(opts: { now: number; sessionNotOnOrAfter?: number | undefined; maxSessionSeconds: number }): number {
  const byPolicy = opts.now + opts.maxSessionSeconds * 1000;
  return opts.sessionNotOnOrAfter === undefined ? byPolicy : Math.min(byPolicy, opts.sessionNotOnOrAfter);
}

/** Shaped like Express's CookieOptions (`maxAge` in milliseconds), without importing Express. */
export interface SessionCookieOptions {
  httpOnly: true;
  secure: boolean;
  sameSite: 'lax';
  path: '/';
  maxAge: number;
}

/**
 * HttpOnly so scripts cannot read it; Secure when the service is served over https;
 * SameSite=Lax so the top-level redirect back from the ACS (and OAuth's authorize) still
 * carries it while cross-site subrequests do not; Path=/ because /oauth and /sso both read it.
 */
export function sessionCookieOptions(opts: { publicUrl: string; expiresAt: number; now: number }): SessionCookieOptions {
  return {
    httpOnly: true,
    secure: isHttpsUrl(opts.publicUrl),
    sameSite: 'lax',
    path: '/',
    maxAge: Math.max(0, opts.expiresAt - opts.now),
  };
}

/** Options for `res.clearCookie` at sign-out: same attributes, so the browser matches the cookie. */
export function clearSessionCookieOptions(opts: { publicUrl: string }): Omit<SessionCookieOptions, 'maxAge'> {
  return { httpOnly: true, secure: isHttpsUrl(opts.publicUrl), sameSite: 'lax', path: '/' };
}

function isHttpsUrl(url: string): boolean {
  return /^https:\/\//i.test(url);
}
