/**
 * Mounts the authorization server in the Express app (SPEC §7 routes): our login interaction
 * under /oauth/interaction, then oidc-provider (a Koa app) for /oauth/* and the well-known
 * documents. oidc-provider reads request bodies itself, so nothing here parses them, and this
 * router must be mounted before any app-wide body parser.
 *
 * Every URL oidc-provider builds (discovery, redirects to the interaction, `iss`) comes from
 * the configured public URL: the dispatcher overwrites X-Forwarded-Proto/Host with it, so a
 * forged Host header cannot change what the server advertises.
 */
import { Router, type ErrorRequestHandler } from 'express';
import type { AppContext } from '../app-context.js';
import { perClientRateLimit, type RateLimitAnswer } from '../http/rate-limit.js';
import { renderInteractionProblem } from './home-realm.js';
import { interactionRoutes } from './interaction-routes.js';
import { oauthService } from './oauth-service.js';
import { INTERACTION_PATH } from './oauth-paths.js';

export const WELL_KNOWN_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json',
]);

/** Requests oidc-provider answers. */
export function isProviderPath(path: string): boolean {
  return WELL_KNOWN_PATHS.has(path) || (path.startsWith('/oauth/') && !path.startsWith(`${INTERACTION_PATH}/`));
}

/** RFC 6749-shaped, for OAuth clients. */
const slowDown: RateLimitAnswer = (_req, res) => {
  res.json({ error: 'slow_down', error_description: 'too many requests; retry later' });
};

export function oauthRoutes(app: AppContext): Router {
  const service = oauthService(app);
  const publicUrl = new URL(app.config.publicUrl);
  const router = Router();

  // R-OPS-3: token and sign-in endpoints are rate limited per client address.
  router.use(['/oauth/token', '/oauth/authorize', INTERACTION_PATH], perClientRateLimit(app.config.rateLimitPerMinute, slowDown));
  router.use(INTERACTION_PATH, interactionRoutes(app, service));

  router.use(async (req, res, next) => {
    if (!isProviderPath(req.path)) return next();
    const { callback } = await service.current();
    req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    req.headers['x-forwarded-host'] = publicUrl.host;
    callback(req, res);
  });

  // Failures outside oidc-provider's own handling (database down, unreadable keys): logged with
  // the request id, answered without internals — JSON for API callers, a page for browsers.
  const onError: ErrorRequestHandler = (err, req, res, next) => {
    const ours = isProviderPath(req.path) || req.path.startsWith(`${INTERACTION_PATH}/`);
    if (!ours) return next(err);
    req.log?.error({ err }, 'OAuth request failed');
    if (res.headersSent) return;
    res.status(500).set('Cache-Control', 'no-store');
    if (req.path.startsWith(`${INTERACTION_PATH}/`)) {
      res.type('html').send(renderInteractionProblem('Something went wrong on our side. Quote this reference to the operator: ' + String(res.locals.requestId ?? '')));
    } else {
      res.json({ error: 'server_error', error_description: 'internal error; quote the request id to the operator', ...(res.locals.requestId && { request_id: res.locals.requestId }) });
    }
  };
  router.use(onError);
  return router;
}
