/**
 * The login interaction of the authorization server (R-OAUTH-2): the SAML sign-in.
 *
 * GET /oauth/interaction/:uid
 *   login prompt:   a live fedbridge_session (of the org asked for, if any) finishes the login
 *                   with its account; otherwise home-realm discovery picks the org (`org`
 *                   parameter, `login_hint` e-mail domain, or the e-mail page) and the browser
 *                   goes to /sso/:org/login?target=<back here>. `prompt=login` insists on a
 *                   sign-in newer than the one presented when it started.
 *   consent prompt: first-party clients consent automatically: the missing scopes, claims
 *                   and resource scopes are granted (offline_access included when asked with
 *                   prompt=consent) on a grant tied to the SAML session.
 * POST /oauth/interaction/:uid/discover   the e-mail page (CSRF token bound to the interaction).
 */
import crypto from 'node:crypto';
import cookieParser from 'cookie-parser';
import express, { Router, type Request, type Response } from 'express';
import type { Interaction, Provider } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { safeEqual } from '../crypto/secret-token.js';
import { destroyArtifact, linkGrantToSamlSession } from '../store/oauth-artifacts.js';
import { findOrgByDomain, findOrgById, findOrgBySlug, type Org } from '../store/orgs.js';
import type { SamlSession } from '../store/saml-sessions.js';
import { loadOAuthAccount } from './account-claims.js';
import { emailDomain, realmHint, renderInteractionProblem, renderRealmPage } from './home-realm.js';
import type { OAuthService } from './oauth-service.js';
import { liveSamlSession, SESSION_COOKIE_NAME } from './saml-session-bridge.js';
import { artifactIdHash, INTERACTION_PATH } from './oauth-paths.js';

/** Which SAML session was presented before going to SSO ("none" when none): a forced login wants another. */
function sessionMarker(s: SamlSession | undefined): string {
  return s ? s.idHash.slice(0, 16) : 'none';
}

function csrfToken(app: AppContext, uid: string): string {
  return crypto.createHmac('sha256', app.masterKey.key).update(`fedbridge-oauth-realm:${uid}`).digest('base64url');
}

function problem(res: Response, status: number, message: string): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(renderInteractionProblem(message));
}

type Wanted = { org: Org } | { problem: string; email?: string } | undefined;

async function wantedOrg(app: AppContext, details: Interaction): Promise<Wanted> {
  const hint = realmHint(details.params);
  const db = app.database.db;
  if (hint.kind === 'org') {
    const org = await findOrgBySlug(db, hint.slug);
    if (!org) return { problem: `There is no organisation ${hint.slug}. Enter your work e-mail address instead.` };
    if (!org.ssoEnabled) return { problem: `${org.name} does not sign in through single sign-on here.` };
    return { org };
  }
  if (hint.kind === 'domain') {
    const org = await findOrgByDomain(db, hint.domain);
    const email = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
    if (!org) return { problem: `No organisation signs in with ${hint.domain} addresses.`, ...(email && { email }) };
    if (!org.ssoEnabled) return { problem: `${org.name} does not sign in through single sign-on here.`, ...(email && { email }) };
    return { org };
  }
  return undefined;
}

export function interactionRoutes(app: AppContext, service: OAuthService): Router {
  const router = Router();
  router.use(cookieParser());

  async function loadInteraction(req: Request, res: Response): Promise<{ provider: Provider; details: Interaction } | undefined> {
    const provider = await service.provider();
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid === req.params.uid) return { provider, details };
    } catch {
      // SessionNotFound: cookie missing, interaction expired or already finished
    }
    problem(res, 400, 'This sign-in request has expired or was already completed.');
    return undefined;
  }

  function ssoRedirect(res: Response, uid: string, org: Org, saml: SamlSession | undefined): void {
    const back = `${INTERACTION_PATH}/${encodeURIComponent(uid)}?sso=${sessionMarker(saml)}`;
    res.redirect(303, `/sso/${encodeURIComponent(org.slug)}/login?target=${encodeURIComponent(back)}`);
  }

  async function showRealmPage(res: Response, provider: Provider, details: Interaction, status: number, extra: { problem?: string; email?: string } = {}) {
    const client = await provider.Client.find(details.params.client_id);
    res
      .status(status)
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(
        renderRealmPage({
          action: `${INTERACTION_PATH}/${encodeURIComponent(details.uid)}/discover`,
          csrfToken: csrfToken(app, details.uid),
          clientName: client?.clientName ?? details.params.client_id,
          ...extra,
        }),
      );
  }

  async function finishLogin(req: Request, res: Response, provider: Provider, details: Interaction, saml: SamlSession): Promise<void> {
    const previous = details.session;
    if (previous?.accountId && previous.accountId !== saml.accountId) {
      // Another account holds the OAuth session of this browser: end it here, so oidc-provider
      // does not stop at a logout confirmation page on resume.
      details.session = undefined;
      await details.persist();
      const sessionIdHash = previous.cookieHash ?? (previous.cookie && artifactIdHash(previous.cookie));
      if (sessionIdHash) await destroyArtifact(app.database.db, 'Session', sessionIdHash);
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: saml.accountId, ts: Math.floor(saml.createdAt / 1000), remember: true } },
      { mergeWithLastSubmission: false },
    );
  }

  async function login(req: Request, res: Response, provider: Provider, details: Interaction, saml: SamlSession | undefined) {
    const returning = typeof req.query.sso === 'string' ? req.query.sso : undefined;
    const forced = details.prompt.reasons.includes('login_prompt') || details.prompt.reasons.includes('max_age');
    const wanted = await wantedOrg(app, details);
    const usable =
      saml !== undefined &&
      (!forced || (returning !== undefined && returning !== sessionMarker(saml))) &&
      (wanted === undefined || !('org' in wanted) || wanted.org.id === saml.orgId);
    if (usable) return finishLogin(req, res, provider, details, saml);
    if (returning !== undefined) {
      // Back from SSO without a session we can use (cookies blocked, another org…): never loop.
      return problem(res, 400, 'The single sign-on did not leave a usable session in this browser.');
    }
    if (wanted && 'org' in wanted) return ssoRedirect(res, details.uid, wanted.org, saml);
    if (forced && saml && wanted === undefined) {
      // prompt=login without a hint: sign in again at the organisation of the current session.
      const org = await findOrgById(app.database.db, saml.orgId);
      if (org) return ssoRedirect(res, details.uid, org, saml);
    }
    return showRealmPage(res, provider, details, 200, wanted ?? {});
  }

  async function consent(req: Request, res: Response, provider: Provider, details: Interaction, saml: SamlSession | undefined) {
    const accountId = details.session?.accountId;
    const account = accountId && saml?.accountId === accountId ? await loadOAuthAccount(app, accountId) : undefined;
    if (!saml || !account) {
      return provider.interactionFinished(req, res, { error: 'login_required', error_description: 'the sign-in session ended' }, { mergeWithLastSubmission: false });
    }
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId: account.accountId, clientId: details.params.client_id, expiresIn: account.refreshTokenTtlSeconds });
    // First-party clients (operator-registered) consent automatically, but only to what
    // oidc-provider found missing — itself limited to the client's registered scopes.
    const missing = details.prompt.details;
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await linkGrantToSamlSession(app.database.db, artifactIdHash(grantId), saml.idHash);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  router.get('/:uid', async (req, res) => {
    const loaded = await loadInteraction(req, res);
    if (!loaded) return;
    const { provider, details } = loaded;
    const saml = await liveSamlSession(app, req.cookies?.[SESSION_COOKIE_NAME]);
    res.set('Cache-Control', 'no-store');
    if (details.prompt.name === 'login') return login(req, res, provider, details, saml);
    if (details.prompt.name === 'consent') return consent(req, res, provider, details, saml);
    return problem(res, 400, `This sign-in asks for "${details.prompt.name}", which is not supported.`);
  });

  router.post('/:uid/discover', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const uid = String(req.params.uid);
    if (typeof body.csrf !== 'string' || !safeEqual(body.csrf, csrfToken(app, uid))) {
      return problem(res, 403, 'This form was not sent by this sign-in page.');
    }
    const loaded = await loadInteraction(req, res);
    if (!loaded) return;
    const { provider, details } = loaded;
    if (details.prompt.name !== 'login') return problem(res, 400, 'This sign-in step is already done.');
    if (body.action === 'cancel') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in' }, { mergeWithLastSubmission: false });
    }
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    const domain = emailDomain(email);
    if (!domain) return showRealmPage(res, provider, details, 400, { problem: 'Enter a work e-mail address such as jane@example.com.', email });
    const org = await findOrgByDomain(app.database.db, domain);
    if (!org) return showRealmPage(res, provider, details, 400, { problem: `No organisation signs in with ${domain} addresses.`, email });
    if (!org.ssoEnabled) return showRealmPage(res, provider, details, 400, { problem: `${org.name} does not sign in through single sign-on here.`, email });
    const saml = await liveSamlSession(app, req.cookies?.[SESSION_COOKIE_NAME]);
    return ssoRedirect(res, uid, org, saml);
  });

  return router;
}
