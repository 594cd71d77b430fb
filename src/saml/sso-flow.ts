/**
 * SAML 2.0 sign-in for one organisation (R-SAML-2, R-SAML-3 … R-SAML-6): the flow between the
 * thin routes (src/http/sso-routes.ts) and the pure pieces — the AuthnRequest builder and
 * bindings, the ACS pipeline (src/saml/acs/), the target policy, provisioning and the session
 * cookie rules. It loads the org's configuration and keys, persists the AuthnRequest, the
 * consumed ids and the session, and throws SsoError for everything a user may see.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppContext } from '../app-context.js';
import { provisionAccount, type ProvisioningAction } from '../accounts/provisioning-flow.js';
import type { OrgKeyProvider } from '../certs/org-key-provider.js';
import { consumeAuthnRequest, saveAuthnRequest } from '../store/authn-requests.js';
import { listRedirectOrigins } from '../store/oauth-clients.js';
import { findOrgBySlug, type Org } from '../store/orgs.js';
import { rememberAssertionId } from '../store/replay-cache.js';
import { createSession } from '../store/saml-sessions.js';
import { runAcsPipeline, type AcsDeps, type AcsOutcome, type AcsSettings } from './acs/index.js';
import { buildAuthnRequest, newSamlId } from './authn-request.js';
import { renderPostForm, signEnveloped } from './post-binding.js';
import { encodeRedirect } from './redirect-binding.js';
import { newRelayStateHandle } from './relay-state.js';
import {
  hashSessionId,
  newSessionId,
  sessionCookieOptions,
  sessionExpiry,
  type SessionCookieOptions,
} from './session-cookie.js';
import type { SsoConfig } from './sso-config.js';
import { loadSsoConfig } from './sso-config-service.js';
import { SsoError } from './sso-error.js';
import { checkTarget, resolveSafeTarget, type TargetPolicy } from './target-policy.js';

/** R-SAML-2: an AuthnRequest id can be answered for ten minutes, once. */
export const AUTHN_REQUEST_TTL_MS = 10 * 60_000;

export type SsoFlowContext = Pick<AppContext, 'config' | 'database' | 'clock' | 'logger'>;

/** An org as the sign-in routes see it; `config` is the configuration in force. */
export interface SsoOrg {
  org: Org;
  config: SsoConfig;
  /** False when the org never saved an SSO configuration (then `config` is only defaults). */
  configured: boolean;
}

export function acsUrlFor(publicUrl: string, slug: string): string {
  return `${publicUrl}/sso/${encodeURIComponent(slug)}/saml/acs`;
}

/** The org named by the URL, with its SSO configuration; SSO_CONFIG when there is no such org. */
export async function loadSsoOrg(ctx: SsoFlowContext, slug: string): Promise<SsoOrg> {
  const org = await findOrgBySlug(ctx.database.db, slug.toLowerCase());
  if (!org) throw new SsoError('SSO_CONFIG', `no organisation ${JSON.stringify(slug.slice(0, 100))}`);
  const { config, configured } = await loadSsoConfig(ctx.database.db, org.id, ctx.config);
  return { org, config, configured };
}

/** What SAML sign-in needs whichever way it starts; SSO_CONFIG otherwise. */
function requireSaml(so: SsoOrg): void {
  if (!so.org.ssoEnabled) throw new SsoError('SSO_CONFIG', 'single sign-on is not enabled for this organisation');
  if (!so.configured) throw new SsoError('SSO_CONFIG', 'the organisation has no Federated Web SSO configuration');
  if (so.config.protocol !== 'saml2') throw new SsoError('SSO_CONFIG', `the organisation signs in with ${so.config.protocol}, not SAML 2.0`);
  if (!so.config.idpEntityId) throw new SsoError('SSO_CONFIG', 'no IdP entity id configured');
}

/**
 * R-SAML-5: the org's default target URL's origin, the service's own origin and
 * `allowedOrigins` (the registered OAuth redirect origins).
 */
export function targetPolicyFor(publicUrl: string, config: SsoConfig, allowedOrigins: readonly string[] = []): TargetPolicy {
  return {
    allowedOrigins,
    defaultTarget: config.defaultTargetUrl ?? `${publicUrl}/`,
    serviceOrigin: new URL(publicUrl).origin,
  };
}

// ---------------------------------------------------------------------------------------------
// SP-initiated: GET /sso/:org/login?target=URL (R-SAML-2)

export type LoginAction =
  /** Send the browser to `location` (HTTP-Redirect binding). */
  | { kind: 'redirect'; location: string }
  /** Answer `html`, an auto-submitting form to `endpoint`, whose script needs `nonce` in the CSP. */
  | { kind: 'post'; html: string; endpoint: string; nonce: string };

export async function startSpInitiatedSignIn(
  ctx: SsoFlowContext,
  keys: Pick<OrgKeyProvider, 'activeServiceSigning'>,
  so: SsoOrg,
  input: { target: unknown },
): Promise<LoginAction> {
  requireSaml(so);
  const { org, config } = so;
  if (!config.spInitiated) throw new SsoError('SSO_CONFIG', 'SP-initiated sign-in is off for this organisation');
  if (!config.ssoLoginUrl) throw new SsoError('SSO_CONFIG', 'no Customer SSO Service Login URL configured');

  const signing = config.authnRequestSigned ? await keys.activeServiceSigning(org) : undefined;
  if (config.authnRequestSigned && !signing) {
    throw new SsoError('SSO_NO_ACTIVE_CERT', 'AuthnRequests must be signed but the organisation has no active service certificate');
  }

  const now = ctx.clock.now();
  const id = newSamlId();
  const relayState = newRelayStateHandle();
  const policy = targetPolicyFor(ctx.config.publicUrl, config, await listRedirectOrigins(ctx.database.db));
  // A refused target is dropped for the default, never stored (R-SAML-5).
  const target = typeof input.target === 'string' ? (checkTarget(input.target, policy) ?? null) : null;
  const xml = buildAuthnRequest({
    id,
    issueInstant: now,
    destination: config.authnRequestDestination ?? config.ssoLoginUrl,
    acsUrl: acsUrlFor(ctx.config.publicUrl, org.slug),
    spEntityId: config.spEntityId,
    nameIdFormat: config.nameIdFormat,
    authnContextClassRef: config.authnContextClassRef ?? undefined,
  });
  await saveAuthnRequest(ctx.database.db, { id, orgId: org.id, relayState, target, createdAt: now, expiresAt: now + AUTHN_REQUEST_TTL_MS });

  if (config.ssoLoginBinding === 'redirect') {
    const location = encodeRedirect({
      endpoint: config.ssoLoginUrl,
      message: xml,
      kind: 'SAMLRequest',
      relayState,
      ...(signing ? { signingKey: signing.key } : {}),
    });
    return { kind: 'redirect', location };
  }
  const message = signing ? signEnveloped(xml, { key: signing.key, cert: signing.certificatePem }) : xml;
  const nonce = randomBytes(16).toString('base64');
  const html = renderPostForm({
    endpoint: config.ssoLoginUrl,
    field: 'SAMLRequest',
    value: Buffer.from(message, 'utf8').toString('base64'),
    relayState,
    nonce,
  });
  return { kind: 'post', html, endpoint: config.ssoLoginUrl, nonce };
}

// ---------------------------------------------------------------------------------------------
// ACS: POST /sso/:org/saml/acs (R-SAML-3, R-SAML-4, R-SAML-6)

export interface SignInResult {
  /** The fedbridge_session cookie value; only its hash is stored. */
  sessionId: string;
  cookie: SessionCookieOptions;
  /** Where to send the browser: a safe target (R-SAML-5). */
  target: string;
  accountId: string;
  action: ProvisioningAction;
  /** True for SP-initiated, false for IdP-initiated. */
  solicited: boolean;
}

/** The pipeline's settings from the org's configuration. */
export function acsSettingsFor(publicUrl: string, so: SsoOrg): AcsSettings {
  const { config } = so;
  return {
    acsUrl: acsUrlFor(publicUrl, so.org.slug),
    spEntityId: config.spEntityId,
    idpEntityId: config.idpEntityId ?? '',
    nameIdFormat: config.nameIdFormat,
    authnContextClassRef: config.authnContextClassRef,
    idpInitiated: config.idpInitiated,
    clockSkewSeconds: config.clockSkewSeconds,
    allowSha1: config.allowSha1,
  };
}

/**
 * R-SAML-4: the target candidate of an IdP-initiated Response. With a configured target-page
 * parameter: that parameter of the ACS URL's query, else of the RelayState read as a query
 * string (`TARGET=…`, with or without a leading `?`). Failing that — or without a parameter —
 * the RelayState itself. The caller still passes the candidate through resolveSafeTarget.
 */
export function idpInitiatedTargetCandidate(
  param: string | null,
  relayState: string | undefined,
  acsQuery: Readonly<Record<string, unknown>>,
): string | undefined {
  if (param !== null) {
    const fromQuery = acsQuery[param];
    if (typeof fromQuery === 'string') return fromQuery;
    if (relayState !== undefined && !/^[A-Za-z][A-Za-z0-9+.-]*:|^\//.test(relayState)) {
      const value = new URLSearchParams(relayState.startsWith('?') ? relayState.slice(1) : relayState).get(param);
      if (value !== null) return value;
    }
  }
  return relayState;
}

export async function completeSamlSignIn(
  ctx: SsoFlowContext,
  keys: Pick<OrgKeyProvider, 'idpVerificationKeys' | 'serviceDecryptionKeys'>,
  so: SsoOrg,
  input: {
    samlResponse: unknown;
    relayState: unknown;
    acsQuery: Readonly<Record<string, unknown>>;
    logger?: Logger;
    /** Refreshes the org's IdP keys after an unknown-key signature; the reloaded org when they changed. */
    onUnknownSigningKey?: () => Promise<SsoOrg | undefined>;
  },
): Promise<SignInResult> {
  requireSaml(so);
  const { org, config } = so;
  if (!config.spInitiated && !config.idpInitiated) {
    throw new SsoError('SSO_CONFIG', 'both SP- and IdP-initiated sign-in are off for this organisation');
  }
  const db = ctx.database.db;
  const depsFor = ({ org: o, config: c }: SsoOrg): AcsDeps => ({
    idpVerificationKeys: () => keys.idpVerificationKeys(o, { trustAll: c.trustAllCertificates }),
    serviceDecryptionKeys: () => keys.serviceDecryptionKeys(o),
    atomically: (work) =>
      db.transaction().execute((trx) =>
        work({
          consumeRequestId: (id, now) => consumeAuthnRequest(trx, { id, orgId: o.id, now }),
          rememberAssertionId: (assertionId, expiresAt, now) => rememberAssertionId(trx, { orgId: o.id, assertionId, expiresAt, now }),
        }),
      ),
  });
  const run = (current: SsoOrg) =>
    runAcsPipeline({
      samlResponse: input.samlResponse,
      settings: acsSettingsFor(ctx.config.publicUrl, current),
      deps: depsFor(current),
      clock: ctx.clock,
    });
  let outcome: AcsOutcome;
  try {
    outcome = await run(so);
  } catch (err) {
    // R-SAML-7: a signature by a key we do not know may mean the IdP rolled its key over.
    // Refresh followed metadata once (rate limited) and, when the keys changed, retry once;
    // the pipeline writes nothing before its last step, so a retry is safe.
    if (!(err instanceof SsoError) || err.code !== 'SSO_SIGNATURE' || !input.onUnknownSigningKey) throw err;
    const refreshed = await input.onUnknownSigningKey();
    if (!refreshed) throw err;
    outcome = await run(refreshed);
  }

  const { account, action } = await provisionAccount(ctx, {
    org,
    config: {
      autoAccountCreation: config.autoAccountCreation,
      autoAccountUpdate: config.autoAccountUpdate,
      removeUidDomainSuffix: config.removeUidDomainSuffix,
      attributeMap: config.attributeMap,
    },
    nameId: outcome.subject.nameId,
    rawAttributes: outcome.attributes,
    ...(input.logger ? { logger: input.logger } : {}),
  });

  const now = ctx.clock.now();
  const expiresAt = sessionExpiry({ now, sessionNotOnOrAfter: outcome.authn.sessionNotOnOrAfter, maxSessionSeconds: config.maxSessionSeconds });
  if (expiresAt <= now) throw new SsoError('SSO_EXPIRED', 'the IdP session is already over');
  const sessionId = newSessionId();
  await createSession(db, {
    idHash: hashSessionId(sessionId),
    orgId: org.id,
    accountId: account.id,
    nameId: outcome.subject.nameId,
    nameIdFormat: outcome.subject.format,
    sessionIndex: outcome.authn.sessionIndex,
    createdAt: now,
    expiresAt,
  });

  const policy = targetPolicyFor(ctx.config.publicUrl, config, await listRedirectOrigins(db));
  const relayState = typeof input.relayState === 'string' && input.relayState !== '' ? input.relayState : undefined;
  // SP-initiated: the target stored with the request (checked again: the policy may have
  // changed since). IdP-initiated: the target parameter or RelayState (R-SAML-4).
  const candidate = outcome.solicited
    ? (outcome.solicited.target ?? undefined)
    : idpInitiatedTargetCandidate(config.idpInitiatedTargetParam, relayState, input.acsQuery);
  return {
    sessionId,
    cookie: sessionCookieOptions({ publicUrl: ctx.config.publicUrl, expiresAt, now }),
    target: resolveSafeTarget(candidate, policy),
    accountId: account.id,
    action,
    solicited: outcome.solicited !== null,
  };
}
