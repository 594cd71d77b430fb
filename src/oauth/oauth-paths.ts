/**
 * Where the token service lives (SPEC §7), its cookie names, and how artifact ids are keyed
 * in storage. Free of oidc-provider so that routing, revocation and the CLI load without it.
 */
import { hashSecret } from '../crypto/secret-token.js';

export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  userinfo: '/oauth/userinfo',
  jwks: '/.well-known/jwks.json',
  end_session: '/oauth/logout',
  registration: '/oauth/register',
  pushed_authorization_request: '/oauth/par',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

/** Our login interaction (interaction-routes.ts), outside oidc-provider. */
export const INTERACTION_PATH = '/oauth/interaction';

export const COOKIE_NAMES = {
  session: 'fedbridge_oauth_session',
  interaction: 'fedbridge_oauth_interaction',
  resume: 'fedbridge_oauth_resume',
} as const;

/** What an artifact id (token, code, session id, grant id) is stored as: its SHA-256. */
export function artifactIdHash(id: string): string {
  return hashSecret(id);
}
