/**
 * RelayState handles (R-SAML-2). The RelayState we send is an opaque random handle that keys
 * the stored sign-in state (AuthnRequest ID, target); the target itself never travels to the
 * IdP, so the IdP (or anyone editing the URL) cannot choose where the browser lands.
 * SAML bindings §3.4.3 caps RelayState at 80 bytes.
 */
import { randomBytes } from 'node:crypto';

/** 24 random bytes = 192 bits, base64url = 32 characters. */
const HANDLE_BYTES = 24;
const HANDLE_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export const RELAY_STATE_MAX_BYTES = 80;

export function newRelayStateHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url');
}

/**
 * Whether a RelayState coming back has the shape of one of our handles. The ACS uses it to
 * tell a handle (look it up) from an IdP-initiated RelayState (a target candidate, R-SAML-4);
 * the store lookup remains the real check.
 */
export function isRelayStateHandle(value: string | undefined): value is string {
  return typeof value === 'string' && HANDLE_PATTERN.test(value);
}
