/**
 * Registered OAuth clients (R-OAUTH-1, Appendix A `/api/v1/clients`, CLI `client …`), operator
 * only. Public clients are native apps: no secret, PKCE S256 always, redirect URIs that are a
 * private-use scheme, a claimed https URL, or http on a loopback IP (any port at use, RFC 8252
 * §7.3). Confidential clients get a secret shown once and stored only as its SHA-256.
 * Redirect URIs match exactly (only the loopback port varies, for native clients).
 */
import { z } from 'zod';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { authorize, type Principal } from '../admin/principal.js';
import { parseInput } from '../admin/validation.js';
import { hashSecret, newSecret } from '../crypto/secret-token.js';
import { recordAudit } from '../store/audit.js';
import { destroyArtifactsOfClient } from '../store/oauth-artifacts.js';
import {
  deleteOAuthClient,
  findOAuthClient,
  insertOAuthClient,
  listOAuthClients,
  type OAuthClientRecord,
  type OAuthClientWithSecret,
} from '../store/oauth-clients.js';

export const SAML2_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', SAML2_BEARER_GRANT, TOKEN_EXCHANGE_GRANT] as const;

export const CLIENT_ID_PREFIX = 'fbc_';
export const CLIENT_SECRET_PREFIX = 'fbcs_';

const MAX_URI_LENGTH = 2048;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
/** RFC 3986 scheme. */
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript', 'vbscript', 'data', 'blob', 'file', 'about', 'http', 'https', 'ftp', 'ws', 'wss']);

/** Why a redirect URI is unacceptable for this client type, or undefined. */
export function redirectUriProblem(value: string, type: 'public' | 'confidential'): string | undefined {
  if (value.length > MAX_URI_LENGTH) return `must be at most ${MAX_URI_LENGTH} characters`;
  if (/[\u0000-\u0020\u007f\\]/.test(value)) return 'must not contain spaces, control characters or backslashes';
  if (value.includes('#')) return 'must not contain a #fragment';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  const loopback = LOOPBACK_IPS.has(url.hostname) || url.hostname === 'localhost';
  if (type === 'public') {
    if (scheme === 'http') {
      // RFC 8252 §7.3/§8.3: loopback IP literals; the port is free at use.
      return LOOPBACK_IPS.has(url.hostname) ? undefined : 'http is only allowed on a loopback IP (127.0.0.1 or [::1]) for native clients';
    }
    if (scheme === 'https') return loopback ? 'a claimed https redirect must not be on a loopback host' : undefined;
    if (!SCHEME.test(scheme) || FORBIDDEN_SCHEMES.has(scheme)) return `the ${scheme}: scheme is not allowed`;
    // RFC 8252 §7.1: private-use schemes are reverse domain names.
    if (!scheme.includes('.')) return 'a private-use scheme must be a reverse domain name such as com.example.app';
    return undefined;
  }
  if (scheme === 'https') return undefined;
  if (scheme === 'http' && loopback) return undefined;
  return 'must be an https URL (http only on a loopback host)';
}

const createSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200),
    type: z.enum(['public', 'confidential'], { error: 'must be public or confidential' }),
    redirectUris: z.array(z.string()).max(20, 'at most 20 redirect URIs').default([]),
    grantTypes: z.array(z.enum(GRANT_TYPES, { error: `must be one of ${GRANT_TYPES.join(', ')}` })).min(1, 'at least one grant type'),
    scopes: z
      .array(z.string().regex(SCOPE_TOKEN, 'must be a scope token (printable ASCII, no spaces, quotes or backslashes)'))
      .min(1, 'at least one scope')
      .max(50),
  })
  .strict()
  .superRefine((c, issue) => {
    const dup = (list: string[]) => list.find((v, i) => list.indexOf(v) !== i);
    for (const [field, list] of [['redirectUris', c.redirectUris], ['grantTypes', c.grantTypes], ['scopes', c.scopes]] as const) {
      const d = dup(list as string[]);
      if (d !== undefined) issue.addIssue({ code: 'custom', path: [field], message: `${d} is listed twice` });
    }
    c.redirectUris.forEach((uri, i) => {
      const problem = redirectUriProblem(uri, c.type);
      if (problem) issue.addIssue({ code: 'custom', path: ['redirectUris', i], message: problem });
    });
    const code = c.grantTypes.includes('authorization_code');
    if (code && c.redirectUris.length === 0) {
      issue.addIssue({ code: 'custom', path: ['redirectUris'], message: 'authorization_code needs at least one redirect URI' });
    }
    if (!code && c.redirectUris.length > 0) {
      issue.addIssue({ code: 'custom', path: ['redirectUris'], message: 'redirect URIs are only used by authorization_code' });
    }
    if (c.grantTypes.length === 1 && c.grantTypes[0] === 'refresh_token') {
      issue.addIssue({ code: 'custom', path: ['grantTypes'], message: 'refresh_token needs a grant that issues the first refresh token' });
    }
    if (c.scopes.includes('offline_access') && !c.grantTypes.includes('refresh_token')) {
      issue.addIssue({ code: 'custom', path: ['scopes'], message: 'offline_access needs the refresh_token grant type' });
    }
  });

export type ClientInput = z.input<typeof createSchema>;

export function clientView(c: OAuthClientRecord) {
  return {
    clientId: c.id,
    name: c.name,
    type: c.type,
    redirectUris: c.redirectUris,
    grantTypes: c.grantTypes,
    scopes: c.scopes,
    createdBy: c.createdBy,
    createdAt: new Date(c.createdAt).toISOString(),
  };
}

/** Registers a client; the secret (confidential clients) is in the result only, never stored in clear. */
export async function createClient(
  ctx: AppContext,
  principal: Principal,
  body: unknown,
): Promise<{ client: OAuthClientRecord; clientSecret?: string }> {
  authorize(principal, 'operator');
  const input = parseInput(createSchema, body);
  const now = ctx.clock.now();
  const client: OAuthClientRecord = {
    id: newSecret(CLIENT_ID_PREFIX, 16),
    name: input.name,
    type: input.type,
    redirectUris: input.redirectUris,
    grantTypes: input.grantTypes,
    scopes: input.scopes,
    createdBy: principal.actor,
    createdAt: now,
  };
  const clientSecret = input.type === 'confidential' ? newSecret(CLIENT_SECRET_PREFIX) : undefined;
  await ctx.database.db.transaction().execute(async (trx) => {
    await insertOAuthClient(trx, { ...client, secretHash: clientSecret ? hashSecret(clientSecret) : null });
    await recordAudit(
      trx,
      { orgId: null, actor: principal.actor, action: 'client.create', target: `client:${client.id}`, details: { after: clientView(client) } },
      now,
    );
  });
  return clientSecret ? { client, clientSecret } : { client };
}

export async function listClients(ctx: AppContext, principal: Principal): Promise<OAuthClientRecord[]> {
  authorize(principal, 'operator');
  return listOAuthClients(ctx.database.db);
}

export async function getClient(ctx: AppContext, principal: Principal, id: string): Promise<OAuthClientRecord> {
  authorize(principal, 'operator');
  const c = await findOAuthClient(ctx.database.db, id);
  if (!c) throw ApiError.notFound(`client ${id}`);
  return c;
}

/** Deletes the client and, with it, every grant, code and token issued to it. */
export async function deleteClient(ctx: AppContext, principal: Principal, id: string): Promise<void> {
  authorize(principal, 'operator');
  const existing = await findOAuthClient(ctx.database.db, id);
  if (!existing) throw ApiError.notFound(`client ${id}`);
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await deleteOAuthClient(trx, id))) return; // deleted concurrently: nothing more to record
    const revoked = await destroyArtifactsOfClient(trx, id);
    await recordAudit(
      trx,
      {
        orgId: null,
        actor: principal.actor,
        action: 'client.delete',
        target: `client:${id}`,
        details: { before: clientView(existing), after: { tokensRevoked: revoked } },
      },
      now,
    );
  });
}

/**
 * oidc-provider metadata of a registered client. Public clients are `native` (loopback port
 * free, PKCE required, no client authentication); confidential ones are `web` with
 * `client_secret_basic` (client_secret_post is accepted too) and `client_secret` holding the
 * SHA-256 — compared by the provider's patched compareClientSecret (src/oauth/provider.ts).
 */
export function clientMetadataFor(c: OAuthClientWithSecret, idTokenAlg: string): Record<string, unknown> {
  const code = c.grantTypes.includes('authorization_code');
  return {
    client_id: c.id,
    client_name: c.name,
    application_type: c.type === 'public' ? 'native' : 'web',
    token_endpoint_auth_method: c.type === 'public' ? 'none' : 'client_secret_basic',
    ...(c.type === 'confidential' && c.secretHash && { client_secret: c.secretHash }),
    grant_types: c.grantTypes,
    response_types: code ? ['code'] : [],
    redirect_uris: c.redirectUris,
    scope: c.scopes.join(' '),
    id_token_signed_response_alg: idTokenAlg,
  };
}
