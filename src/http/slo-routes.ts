/**
 * Single Logout routes (R-SAML-9): `POST /logout` (the web client's sign-out) and
 * `GET|POST /sso/:org/saml/slo` (the SLO endpoint our metadata publishes, both bindings).
 * Thin: read the cookie and the message, call src/saml/slo-flow.ts, render. Refusals go to
 * the one SSO error handler (error URL redirect or error page, R-ERR-1).
 *
 * A GET without a SAML message only asks for confirmation: a link on another site must not
 * sign the user out; the confirmation form POSTs back here (same site, so the Lax cookie goes).
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { AppContext } from '../app-context.js';
import { renderSignOutConfirmPage } from '../saml/logout/signed-out-page.js';
import { clearSessionCookieOptions, SESSION_COOKIE_NAME } from '../saml/session-cookie.js';
import { carriesSamlMessage, handleSloMessage, loadSloOrgBySlug, startLogout, type SloOrg, type SloOutcome } from '../saml/slo-flow.js';
import { perClientRateLimit } from './rate-limit.js';
import { setSsoErrorTarget, ssoErrorHandler } from './sso-error-handler.js';

const FORM_LIMIT = '300kb';

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/** The fedbridge_session cookie from the Cookie header (no cookie-parser needed for one value). */
function sessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The raw query string exactly as received: the Redirect binding signature covers these octets. */
function rawQuery(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at === -1 ? '' : req.originalUrl.slice(at + 1);
}

export function sloRoutes(ctx: AppContext): Router {
  const router = Router();
  const failures = counter(ctx.metrics, 'fedbridge_sso_failures_total', 'Refused SSO sign-ins by error code', ['code']);
  const logouts = counter(ctx.metrics, 'fedbridge_slo_total', 'Single logout requests by kind', ['kind']);
  const limit = perClientRateLimit(ctx.config.rateLimitPerMinute);
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 20 });
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  const loadOrg: RequestHandler = async (req, res, next) => {
    const so = await loadSloOrgBySlug(ctx, String(req.params.org));
    res.locals.slo = so;
    setSsoErrorTarget(res.locals, { slug: so.org.slug, errorUrl: so.org.ssoEnabled ? so.config.errorUrl : null });
    next();
  };

  const respond = (res: Response, outcome: SloOutcome) => {
    if (outcome.clearCookie) res.clearCookie(SESSION_COOKIE_NAME, clearSessionCookieOptions({ publicUrl: ctx.config.publicUrl }));
    const { action } = outcome;
    if (action.kind === 'redirect') {
      res.redirect(302, action.location);
      return;
    }
    if (action.kind === 'post') {
      res.set(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'nonce-${action.nonce}'; form-action ${new URL(action.endpoint).origin}; base-uri 'none'; frame-ancestors 'none'`,
      );
    }
    res.status(200).type('html').send(action.html);
  };

  router.post('/logout', limit, noStore, form, async (req, res) => {
    logouts.inc({ kind: 'sp-initiated' });
    respond(res, await startLogout(ctx, { sessionId: sessionCookie(req) }));
  });

  router.get('/sso/:org/saml/slo', limit, noStore, loadOrg, async (req, res) => {
    const so = res.locals.slo as SloOrg;
    const input = { method: 'GET' as const, rawQuery: rawQuery(req) };
    if (!carriesSamlMessage(input)) {
      res.status(200).type('html').send(renderSignOutConfirmPage(req.originalUrl.split('?')[0]!));
      return;
    }
    logouts.inc({ kind: 'idp-message' });
    respond(res, await handleSloMessage(ctx, so, input, { sessionId: sessionCookie(req) }));
  });

  router.post('/sso/:org/saml/slo', limit, noStore, loadOrg, form, async (req, res) => {
    const so = res.locals.slo as SloOrg;
    const input = { method: 'POST' as const, form: (req.body ?? {}) as Record<string, unknown> };
    if (!carriesSamlMessage(input)) {
      logouts.inc({ kind: 'sp-initiated' });
      respond(res, await startLogout(ctx, { sessionId: sessionCookie(req), orgSlug: so.org.slug }));
      return;
    }
    logouts.inc({ kind: 'idp-message' });
    respond(res, await handleSloMessage(ctx, so, input, { sessionId: sessionCookie(req) }));
  });

  router.use(ssoErrorHandler({ logger: ctx.logger, failures }));
  return router;
}
