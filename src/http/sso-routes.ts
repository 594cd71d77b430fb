/**
 * SAML 2.0 sign-in routes (SPEC §3): `GET /sso/:org/login` (SP-initiated, R-SAML-2) and
 * `POST /sso/:org/saml/acs` (the ACS, R-SAML-3 … R-SAML-6). Thin: parse the request, call
 * src/saml/sso-flow.ts, render. Every failure goes to the one SSO error handler (R-ERR-1).
 */
import express, { Router, type RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { AppContext } from '../app-context.js';
import { refreshMetadataOnUnknownKey } from '../saml/metadata-refresh.js';
import { SESSION_COOKIE_NAME } from '../saml/session-cookie.js';
import { completeSamlSignIn, loadSsoOrg, startSpInitiatedSignIn, type SsoOrg } from '../saml/sso-flow.js';
import { perClientRateLimit } from './rate-limit.js';
import { setSsoErrorTarget, ssoErrorHandler } from './sso-error-handler.js';

/** A little above the 256 KiB SAMLResponse limit, for URL-encoding and RelayState. */
const ACS_BODY_LIMIT = '300kb';

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  // One registry per app; reuse the metric if this registry already has it.
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

function ssoOf(res: express.Response): SsoOrg {
  return res.locals.sso as SsoOrg;
}

export function ssoRoutes(ctx: AppContext): Router {
  const router = Router();
  const keys = ctx.orgKeys;
  const failures = counter(ctx.metrics, 'fedbridge_sso_failures_total', 'Refused SSO sign-ins by error code', ['code']);
  const signins = counter(ctx.metrics, 'fedbridge_sso_signins_total', 'Successful SSO sign-ins', []);

  /** Loads the org before anything else, so even a refused body can redirect to its error URL. */
  const loadOrg: RequestHandler = async (req, res, next) => {
    const so = await loadSsoOrg(ctx, String(req.params.org));
    res.locals.sso = so;
    setSsoErrorTarget(res.locals, { slug: so.org.slug, errorUrl: so.org.ssoEnabled ? so.config.errorUrl : null });
    next();
  };
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  router.get('/sso/:org/login', perClientRateLimit(ctx.config.rateLimitPerMinute), noStore, loadOrg, async (req, res) => {
    const action = await startSpInitiatedSignIn(ctx, keys, ssoOf(res), { target: req.query.target });
    if (action.kind === 'redirect') {
      res.redirect(302, action.location);
      return;
    }
    // The auto-submit script runs by nonce only, and the form may post only to the IdP.
    res.set(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${action.nonce}'; form-action ${new URL(action.endpoint).origin}; base-uri 'none'; frame-ancestors 'none'`,
    );
    res.status(200).type('html').send(action.html);
  });

  router.post(
    '/sso/:org/saml/acs',
    perClientRateLimit(ctx.config.rateLimitPerMinute),
    noStore,
    loadOrg,
    express.urlencoded({ extended: false, limit: ACS_BODY_LIMIT, parameterLimit: 20 }),
    async (req, res) => {
      const so = ssoOf(res);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const result = await completeSamlSignIn(ctx, keys, so, {
        samlResponse: body.SAMLResponse,
        relayState: body.RelayState,
        acsQuery: req.query as Record<string, unknown>,
        logger: req.log,
        onUnknownSigningKey: async () => {
          const refresh = await refreshMetadataOnUnknownKey(ctx, so.org);
          return refresh.certificatesChanged ? loadSsoOrg(ctx, so.org.slug) : undefined;
        },
      });
      signins.inc();
      req.log.info(
        { correlationId: res.locals.requestId, org: so.org.slug, accountId: result.accountId, action: result.action, solicited: result.solicited },
        'sso sign-in',
      );
      res.cookie(SESSION_COOKIE_NAME, result.sessionId, result.cookie);
      res.redirect(302, result.target);
    },
  );

  router.use(ssoErrorHandler({ logger: ctx.logger, failures }));
  return router;
}
