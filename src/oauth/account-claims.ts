/**
 * Who a token is about (its `sub` is the account id) and the identity claims the ID token,
 * userinfo and the JWT access tokens carry. An account that no longer exists or is
 * deactivated has no claims: oidc-provider then refuses every grant for it (R-ACC-6).
 */
import type { AppContext } from '../app-context.js';
import { DEFAULT_REFRESH_TOKEN_TTL_SECONDS, effectiveSsoConfig } from '../saml/sso-config.js';
import { findTokenSubject, type TokenSubject } from '../store/oauth-subjects.js';

/** Claims per scope (oidc-provider `claims`); `org` comes with `openid`, as it names the tenant. */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub', 'org'],
  email: ['email'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  acr: null,
  sid: null,
  auth_time: null,
  iss: null,
} as const;

export interface OAuthAccount {
  accountId: string;
  subject: TokenSubject;
  /** The org's refresh-token lifetime (R-OAUTH-4), read by the RefreshToken TTL. */
  refreshTokenTtlSeconds: number;
  claims(): Promise<Record<string, unknown>>;
}

export function identityClaims(s: TokenSubject): Record<string, unknown> {
  const name = `${s.firstname} ${s.lastname}`.trim();
  return {
    sub: s.accountId,
    org: s.orgSlug,
    email: s.email,
    ...(name && { name }),
    ...(s.firstname && { given_name: s.firstname }),
    ...(s.lastname && { family_name: s.lastname }),
    preferred_username: s.uid,
  };
}

export function refreshTokenTtlOf(ctx: AppContext, s: TokenSubject): number {
  if (s.ssoConfig === null) return DEFAULT_REFRESH_TOKEN_TTL_SECONDS;
  try {
    return effectiveSsoConfig(JSON.parse(s.ssoConfig) as Record<string, unknown>, { publicUrl: ctx.config.publicUrl }).refreshTokenTtlSeconds;
  } catch (err) {
    ctx.logger.warn({ err, orgId: s.orgId }, 'stored SSO configuration unreadable; refresh tokens use the default lifetime');
    return DEFAULT_REFRESH_TOKEN_TTL_SECONDS;
  }
}

/** The active account behind `accountId`, or undefined (unknown or deactivated). */
export async function loadOAuthAccount(ctx: AppContext, accountId: string): Promise<OAuthAccount | undefined> {
  const subject = await findTokenSubject(ctx.database.db, accountId);
  if (!subject?.active) return undefined;
  return {
    accountId,
    subject,
    refreshTokenTtlSeconds: refreshTokenTtlOf(ctx, subject),
    claims: async () => identityClaims(subject),
  };
}
