/**
 * oidc-provider configured as fedbridge's OAuth 2.0 / OpenID authorization server (SPEC §7).
 * Choices, each against a known oidc-provider default:
 * - storage on our database (storage-adapter.ts), clients from the registry, no dev
 *   interactions: the login interaction is the SAML sign-in (interaction-routes.ts);
 * - PKCE S256 for every client, `code` only, exact redirect URIs (no omitted redirect_uri);
 * - every access token is an RFC 9068 JWT for the one resource server (resource
 *   indicators + `useGrantedResource`), except a refresh asking explicitly for `openid`
 *   scopes, which gets the opaque token /oauth/userinfo accepts;
 * - refresh tokens for every client allowed the refresh_token grant (first-party clients,
 *   registered by the operator, need no offline_access consent), rotated on every use, living
 *   the org's refreshTokenTtlSeconds (60 days by default, not oidc-provider's 14) counted from
 *   the sign-in: a rotated token inherits what is left; not bound to the browser session;
 * - introspection only for authenticated (confidential) clients;
 * - every URL it builds comes from the configured public URL, never from request headers.
 */
import crypto from 'node:crypto';
import Provider, { errors, interactionPolicy, type KoaContextWithOIDC, type TokenInstance, type UnknownObject } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { hashSecret, safeEqual } from '../crypto/secret-token.js';
import { DEFAULT_MAX_SESSION_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from '../saml/sso-config.js';
import { samlSessionOfGrant } from '../store/oauth-artifacts.js';
import { findTokenSubject } from '../store/oauth-subjects.js';
import { CLAIMS_BY_SCOPE, loadOAuthAccount, type OAuthAccount } from './account-claims.js';
import { clientMetadataFor } from './client-registry.js';
import { ACCESS_TOKEN_TTL_SECONDS, DEFAULT_RESOURCE, resourceServerInfo } from './resource-server.js';
import { registerSamlBearerGrant } from './saml-bearer-grant.js';
import { liveSamlSession, SESSION_COOKIE_NAME } from './saml-session-bridge.js';
import type { SigningKeySet } from './signing-keys.js';
import { artifactIdHash, COOKIE_NAMES, INTERACTION_PATH, OAUTH_ROUTES } from './oauth-paths.js';
import { createStorageAdapter } from './storage-adapter.js';
import { registerTokenExchangeGrant } from './token-exchange-grant.js';

/** Codes live 60 s (R-OAUTH-2); an interaction leaves time for the IdP's sign-in page. */
const AUTHORIZATION_CODE_TTL_SECONDS = 60;
const ID_TOKEN_TTL_SECONDS = 3600;
const INTERACTION_TTL_SECONDS = 30 * 60;
const SHORT_LIVED_TTL_SECONDS = 600;

function htmlEscape(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function accountOf(ctx: KoaContextWithOIDC | undefined): OAuthAccount | undefined {
  const a = ctx?.oidc?.entities?.Account as Partial<OAuthAccount> | undefined;
  return a && typeof a.refreshTokenTtlSeconds === 'number' ? (a as OAuthAccount) : undefined;
}

function samlCookie(ctx: KoaContextWithOIDC): string | undefined {
  return ctx.cookies.get(SESSION_COOKIE_NAME, { signed: false });
}

export interface BuiltProvider {
  provider: Provider;
  signing: { alg: string; kid: string };
}

export function buildProvider(app: AppContext, keys: SigningKeySet): BuiltProvider {
  const signing = { alg: keys.current.alg, kid: keys.current.kid };
  const db = app.database.db;

  // The login prompt also fires when the OAuth session outlived its SAML session, or the
  // SAML cookie now names another account: the OAuth session only mirrors the SAML one.
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('saml_session', 'the SAML sign-in ended or changed', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT; // `no_session` asks already
      const saml = await liveSamlSession(app, samlCookie(ctx));
      return saml?.accountId === accountId ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );

  const configuration: UnknownObject = {
    adapter: createStorageAdapter({ db, clock: app.clock, clientMetadata: (c) => clientMetadataFor(c, signing.alg) }),
    jwks: { keys: keys.keys },
    clients: [],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: signing.alg,
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    claims: CLAIMS_BY_SCOPE,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: ['org'],
    routes: OAUTH_ROUTES,
    cookies: {
      names: COOKIE_NAMES,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    discovery: { claim_types_supported: ['normal'] },
    interactions: { policy, url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PATH}/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: false },
      userinfo: { enabled: true },
      // RFC 7009: a client revokes its own tokens; anything else is a silent no-op (no token oracle).
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) => token.clientId === client.clientId,
      },
      // RFC 7662 §2.1: the endpoint needs an authenticated caller. Public clients are refused
      // (whatever the token, see rfcErrorCorrections); confidential clients act as
      // resource servers and may introspect any token.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod !== 'none',
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          oneOf === undefined || oneOf.includes(DEFAULT_RESOURCE) ? DEFAULT_RESOURCE : oneOf,
        getResourceServerInfo: async (_ctx: unknown, resource: string, client: { scope?: string }) => {
          if (resource !== DEFAULT_RESOURCE) throw new errors.InvalidTarget(`unknown resource; this server issues tokens for ${DEFAULT_RESOURCE}`);
          return resourceServerInfo(client.scope, signing);
        },
        // Carry the granted resource into refreshes (and so keep issuing JWTs), except when a
        // refresh asks for `openid` scopes explicitly: that is how a client gets the opaque
        // token the userinfo endpoint accepts.
        useGrantedResource: async (ctx: KoaContextWithOIDC) => {
          const scope = ctx.oidc.params.scope;
          return !(ctx.oidc.params.grant_type === 'refresh_token' && typeof scope === 'string' && scope.split(' ').includes('openid'));
        },
      },
    },
    findAccount: async (_ctx: unknown, sub: string) => loadOAuthAccount(app, sub),
    extraTokenClaims: async (ctx: KoaContextWithOIDC, token: TokenInstance) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const known = accountOf(ctx);
      const subject = known?.accountId === token.accountId ? known.subject : await findTokenSubject(db, token.accountId);
      return subject ? { org: subject.orgSlug, email: subject.email } : undefined;
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    // A grant counts only for the SAML sign-in it was made from: another sign-in (another
    // device, another user of the browser) goes through consent and gets its own family.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const fromConsent = (ctx.oidc as unknown as { result?: { consent?: { grantId?: string } } }).result?.consent?.grantId;
      const session = ctx.oidc.session as unknown as { grantIdFor(clientId: string): string | undefined } | undefined;
      const grantId = fromConsent ?? (ctx.oidc.client && session?.grantIdFor(ctx.oidc.client.clientId));
      if (!grantId) return undefined;
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (!grant || fromConsent) return grant;
      const saml = await liveSamlSession(app, samlCookie(ctx));
      const linked = await samlSessionOfGrant(db, artifactIdHash(grantId));
      return saml && linked === saml.idHash ? grant : undefined;
    },
    ttl: {
      AccessToken: (_ctx: unknown, token: TokenInstance & { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SECONDS,
      IdToken: ID_TOKEN_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
      Session: DEFAULT_MAX_SESSION_SECONDS,
      Grant: (ctx: KoaContextWithOIDC) => accountOf(ctx)?.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
      RefreshToken: (ctx: KoaContextWithOIDC) => {
        const rotated = ctx?.oidc?.entities?.RotatedRefreshToken as TokenInstance | undefined;
        if (rotated) return Math.max(1, rotated.remainingTTL);
        return accountOf(ctx)?.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS;
      },
      ClientCredentials: SHORT_LIVED_TTL_SECONDS,
      DeviceCode: SHORT_LIVED_TTL_SECONDS,
      BackchannelAuthenticationRequest: SHORT_LIVED_TTL_SECONDS,
      PreAuthorizedCode: SHORT_LIVED_TTL_SECONDS,
    },
    renderError: async (ctx: KoaContextWithOIDC, out: { error?: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body>
<h1>Sign-in could not continue</h1><p><strong>${htmlEscape(out.error ?? 'error')}</strong>: ${htmlEscape(out.error_description ?? '')}</p>
<p>Start the sign-in again from your application.</p></body></html>`;
    },
  };

  const provider = new Provider(app.config.publicUrl, configuration);
  // URLs are built from X-Forwarded-Proto/Host, which the dispatcher sets from the public URL.
  provider.proxy = true;

  // Confidential clients' `client_secret` holds the SHA-256 of the secret (R-OAUTH-1).
  provider.Client.prototype.compareClientSecret = function compareHashedSecret(this: { clientSecret?: string }, actual: string) {
    return typeof actual === 'string' && typeof this.clientSecret === 'string' && safeEqual(this.clientSecret, hashSecret(actual));
  };

  provider.use(rfcErrorCorrections);
  registerSamlBearerGrant(app, provider, () => signing);
  registerTokenExchangeGrant(app, provider, () => signing);

  provider.on('server_error', (_ctx: unknown, err: Error) => app.logger.error({ err }, 'OAuth server error'));
  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'userinfo.error', 'authorization.error']) {
    provider.on(event, (_ctx: unknown, err: { error?: string; error_description?: string; error_detail?: string }) => {
      app.logger.debug({ event, error: err.error, description: err.error_description, detail: err.error_detail }, 'OAuth request refused');
    });
  }
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    app.logger.info({ grant: crypto.createHash('sha256').update(grantId).digest('hex').slice(0, 16) }, 'OAuth grant revoked');
  });

  return { provider, signing };
}

/**
 * Two answers oidc-provider gets wrong for us, put right after it has answered:
 * - RFC 7662 §2.1: a public client (no authentication) gets 401 invalid_client from the
 *   introspection endpoint, whatever the token — not `active: false`, which would suggest
 *   the endpoint is open to it;
 * - RFC 6749 §5.2: a client using a grant type it is not registered for gets
 *   `unauthorized_client` (oidc-provider says invalid_request).
 */
async function rfcErrorCorrections(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const oidc = (ctx as unknown as { oidc?: KoaContextWithOIDC['oidc'] }).oidc;
  if (oidc?.route === 'introspection' && ctx.status === 200 && oidc.client?.clientAuthMethod === 'none') {
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: 'the introspection endpoint requires client authentication' };
  }
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (oidc?.route === 'token' && ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
    ctx.body = { error: 'unauthorized_client', error_description: GRANT_NOT_ALLOWED };
  }
}

/** oidc-provider's description when a client uses a grant type it is not registered for. */
const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';
