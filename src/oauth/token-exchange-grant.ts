/**
 * RFC 8693 token exchange with the SAML session cookie as subject token (R-OAUTH-3): the
 * "exchange the SAML cookie for OAuth tokens" step of the client flow (guide 003). The
 * embedded browser signed in through SAML; the app hands us the `fedbridge_session` value and
 * gets an access token and a refresh token bound to that sign-in (sign-out revokes them).
 */
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { loadOAuthAccount } from './account-claims.js';
import { TOKEN_EXCHANGE_GRANT } from './client-registry.js';
import { ACCESS_TOKEN_TYPE, invalidGrant, issueTokensForGrant } from './grant-tokens.js';
import { DEFAULT_RESOURCE } from './resource-server.js';
import { liveSamlSession } from './saml-session-bridge.js';

export const SESSION_TOKEN_TYPE = 'urn:fedbridge:params:oauth:token-type:session';
const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';

export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'scope',
  'resource',
] as const;

export function registerTokenExchangeGrant(app: AppContext, provider: Provider, signing: () => { alg: string; kid: string }): void {
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: KoaContextWithOIDC) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      if (!p.subject_token) throw new errors.InvalidRequest('missing required parameter subject_token');
      if (!p.subject_token_type) throw new errors.InvalidRequest('missing required parameter subject_token_type');
      if (p.subject_token_type !== SESSION_TOKEN_TYPE) {
        throw new errors.InvalidRequest(`subject_token_type must be ${SESSION_TOKEN_TYPE}`);
      }
      if (p.actor_token !== undefined || p.actor_token_type !== undefined) {
        throw new errors.InvalidRequest('delegation (actor_token) is not supported');
      }
      if (p.requested_token_type !== undefined && p.requested_token_type !== ACCESS_TOKEN_TYPE && p.requested_token_type !== REFRESH_TOKEN_TYPE) {
        throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
      }
      if (p.audience !== undefined && p.audience !== DEFAULT_RESOURCE) {
        throw new errors.InvalidTarget(`the only audience tokens are issued for is ${DEFAULT_RESOURCE}`);
      }

      const session = await liveSamlSession(app, p.subject_token);
      if (!session) throw invalidGrant('subject_token is not a live sign-in session');
      const account = await loadOAuthAccount(app, session.accountId);
      if (!account) throw invalidGrant('the account of this session is not active');

      await issueTokensForGrant(app, provider, ctx, {
        account,
        gty: TOKEN_EXCHANGE_GRANT,
        samlSessionHash: session.idHash,
        signing: signing(),
      });
    },
    TOKEN_EXCHANGE_PARAMETERS,
  );
}
