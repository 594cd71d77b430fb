/**
 * Token issuance for our custom grants (RFC 7522 SAML bearer, RFC 8693 token exchange).
 * oidc-provider hands a custom grant only its declared parameters and leaves everything else to
 * it: here we build the Grant (the token family, revocable as one), the RFC 9068 access token
 * for the resource server, the refresh token when the client may refresh, and the whole
 * response, `issued_token_type` included.
 */
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { linkGrantToSamlSession } from '../store/oauth-artifacts.js';
import type { OAuthAccount } from './account-claims.js';
import { DEFAULT_RESOURCE, resourceScopesFor, resourceServerInfo } from './resource-server.js';
import { artifactIdHash } from './oauth-paths.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** `invalid_grant` with a description the client developer can act on (never secrets). */
export function invalidGrant(description: string): Error {
  return new errors.CustomOIDCProviderError('invalid_grant', description);
}

/** Scopes granted through the OpenID side (ID token, userinfo); the rest are API scopes. */
const OIDC_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email']);

export interface IssueOptions {
  account: OAuthAccount;
  /** The grant type, recorded as the tokens' `gty`. */
  gty: string;
  /** The SAML session the tokens come from; sign-out of it revokes them. */
  samlSessionHash?: string;
  signing: { alg: string; kid: string };
}

/** The requested scopes, or all the client is registered for; refuses any it is not. */
export function grantedScopes(requested: string | undefined, clientScope: string | undefined): string[] {
  const allowed = new Set((clientScope ?? '').split(' ').filter(Boolean));
  if (requested === undefined || requested.trim() === '') return [...allowed];
  const wanted = [...new Set(requested.split(' ').filter(Boolean))];
  for (const s of wanted) {
    if (!allowed.has(s)) throw new errors.InvalidScope('requested scope is not allowed for this client', s);
  }
  return wanted;
}

export async function issueTokensForGrant(app: AppContext, provider: Provider, ctx: KoaContextWithOIDC, opts: IssueOptions): Promise<void> {
  const client = ctx.oidc.client;
  if (!client) throw new errors.InvalidClient('client not authenticated');
  const { params } = ctx.oidc;
  if (params.resource !== undefined && params.resource !== DEFAULT_RESOURCE) {
    throw new errors.InvalidTarget('the only resource this server issues tokens for is ' + DEFAULT_RESOURCE);
  }
  const scopes = grantedScopes(params.scope as string | undefined, client.scope);
  const apiScopes = new Set(resourceScopesFor(client.scope).split(' ').filter(Boolean));
  const { account } = opts;

  // Read by the RefreshToken TTL (the org's refresh-token lifetime).
  ctx.oidc.entity('Account', account);

  const grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId, expiresIn: account.refreshTokenTtlSeconds });
  const oidc = scopes.filter((s) => OIDC_SCOPES.has(s));
  if (oidc.length > 0) grant.addOIDCScope(oidc.join(' '));
  const api = scopes.filter((s) => apiScopes.has(s));
  if (api.length > 0) grant.addResourceScope(DEFAULT_RESOURCE, api.join(' '));
  const grantId = await grant.save();
  if (opts.samlSessionHash) await linkGrantToSamlSession(app.database.db, artifactIdHash(grantId), opts.samlSessionHash);
  ctx.oidc.entity('Grant', grant);

  const at = new provider.AccessToken({ accountId: account.accountId, client, grantId, gty: opts.gty });
  at.resourceServer = new provider.ResourceServer(DEFAULT_RESOURCE, resourceServerInfo(client.scope, opts.signing));
  at.scope = grant.getResourceScopeFiltered(DEFAULT_RESOURCE, api) || undefined;
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  let refreshToken: string | undefined;
  if (client.grantTypeAllowed('refresh_token')) {
    const rt = new provider.RefreshToken({
      accountId: account.accountId,
      client,
      grantId,
      gty: opts.gty,
      scope: scopes.join(' '),
      resource: DEFAULT_RESOURCE,
      rotations: 0,
    });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  ctx.body = {
    access_token: accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: at.tokenType,
    expires_in: at.expiration,
    ...(at.scope && { scope: at.scope }),
    ...(refreshToken && { refresh_token: refreshToken }),
  };
}
