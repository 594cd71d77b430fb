/**
 * The resource server our access tokens are for (R-OAUTH-5). Every access token is an RFC 9068
 * JWT (`typ: at+jwt`) with `aud` = DEFAULT_RESOURCE, signed with the current key, living one
 * hour at most: a JWT cannot be revoked, so its lifetime is the bound on a stolen one.
 */
export const DEFAULT_RESOURCE = 'urn:fedbridge:api';

export const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** Scopes that only ask for something from the authorization server, never from the API. */
const NOT_FOR_THE_API = new Set(['offline_access']);

/** The scopes the API accepts from a client: what the client is registered for, minus offline_access. */
export function resourceScopesFor(clientScope: string | undefined): string {
  return (clientScope ?? '')
    .split(' ')
    .filter((s) => s !== '' && !NOT_FOR_THE_API.has(s))
    .join(' ');
}

/** oidc-provider's resource-server information for DEFAULT_RESOURCE. */
export function resourceServerInfo(clientScope: string | undefined, signing: { alg: string; kid: string }) {
  return {
    scope: resourceScopesFor(clientScope),
    audience: DEFAULT_RESOURCE,
    accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
    accessTokenFormat: 'jwt' as const,
    // The kid pins the current key: oidc-provider would otherwise take the first key of the algorithm.
    jwt: { sign: { alg: signing.alg, kid: signing.kid } },
  };
}
