import assert from 'node:assert/strict';
import { hashSecret } from '../../../src/crypto/secret-token.js';
import {
  clearSessionCookieOptions,
  hashSessionId,
  isSessionIdShape,
  newSessionId,
  SESSION_COOKIE_NAME,
  sessionCookieOptions,
  sessionExpiry,
} from '../../../src/saml/session-cookie.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3600_000;

describe('SAML session cookie (R-SAML-6)', () => {
  it('is named fedbridge_session', () => {
    assert.equal(SESSION_COOKIE_NAME, 'fedbridge_session');
  });

  it('makes opaque 256-bit ids, all different', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) {
      assert.equal(Buffer.from(id, 'base64url').length, 32);
      assert.equal(isSessionIdShape(id), true);
    }
  });

  it('refuses cookie values that are not our ids before any lookup', () => {
    for (const v of [undefined, '', 'abc', `${newSessionId()}x`, `${newSessionId().slice(0, 42)}=`, `${newSessionId().slice(0, 42)}/`, 42]) {
      assert.equal(isSessionIdShape(v), false, String(v));
    }
  });

  it('keeps only a SHA-256 hash of the id', () => {
    const id = newSessionId();
    assert.equal(hashSessionId(id), hashSecret(id));
    assert.match(hashSessionId(id), /^[0-9a-f]{64}$/);
    assert.notEqual(hashSessionId(id), id);
  });

  it('expires at the org maximum when the IdP gives no SessionNotOnOrAfter', () => {
    assert.equal(sessionExpiry({ now: NOW, maxSessionSeconds: 43200 }), NOW + 12 * HOUR);
  });

  it('expires at SessionNotOnOrAfter when that comes first', () => {
    assert.equal(sessionExpiry({ now: NOW, sessionNotOnOrAfter: NOW + HOUR, maxSessionSeconds: 43200 }), NOW + HOUR);
  });

  it('never outlives the org maximum, whatever the IdP says', () => {
    assert.equal(sessionExpiry({ now: NOW, sessionNotOnOrAfter: NOW + 48 * HOUR, maxSessionSeconds: 43200 }), NOW + 12 * HOUR);
  });

  it('reports an IdP session already over as an expiry not after now', () => {
    assert.ok(sessionExpiry({ now: NOW, sessionNotOnOrAfter: NOW - 1, maxSessionSeconds: 43200 }) <= NOW);
  });

  it('is HttpOnly, SameSite=Lax, Path=/, Secure on https, with maxAge up to the expiry', () => {
    assert.deepEqual(sessionCookieOptions({ publicUrl: 'https://sso.example.com', expiresAt: NOW + HOUR, now: NOW }), {
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/',
      maxAge: HOUR,
    });
  });

  it('is not Secure when the public URL is plain http (local development)', () => {
    assert.equal(sessionCookieOptions({ publicUrl: 'http://localhost:8080', expiresAt: NOW + HOUR, now: NOW }).secure, false);
    assert.equal(clearSessionCookieOptions({ publicUrl: 'http://localhost:8080' }).secure, false);
    assert.equal(clearSessionCookieOptions({ publicUrl: 'HTTPS://sso.example.com' }).secure, true);
  });

  it('never gives a negative maxAge', () => {
    assert.equal(sessionCookieOptions({ publicUrl: 'https://x.test', expiresAt: NOW - 5, now: NOW }).maxAge, 0);
  });
});
