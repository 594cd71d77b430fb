/**
 * The one error handler of the sign-in routes (R-ERR-1, ARCHITECTURE "Errors"). An SsoError
 * becomes a redirect to the org's Customer SSO error URL with `errorCode=<CODE>` appended, or
 * the error page with the code, one sentence and the correlation id (the request id). The
 * internal reason goes to one warn log line `{correlationId, code, reason, org}` — never the
 * assertion or attribute values, which no step puts in a reason. Anything else is a bug: 500,
 * a generic page with the correlation id, the error (with its stack) in the log only.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { errorRedirectUrl, renderSsoErrorPage, SSO_ERROR_STATUS } from '../saml/error-page.js';
import { SsoError } from '../saml/sso-error.js';

/** What the routes know of the org once it is loaded (for the redirect and the log line). */
export interface SsoErrorTarget {
  slug: string;
  /** Customer SSO error URL, when configured and SSO is on. */
  errorUrl: string | null;
}

export function setSsoErrorTarget(locals: Record<string, unknown>, target: SsoErrorTarget): void {
  locals.ssoErrorTarget = target;
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
}

/** Body-parser refusals (too large, bad encoding, too many fields) are malformed requests. */
function fromBodyParser(err: unknown): { error: SsoError; status: number } | undefined {
  const e = err as BodyParserError | null;
  if (!e || typeof e.type !== 'string' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  const status = e.type === 'entity.too.large' ? 413 : 400;
  return { error: new SsoError('SSO_MALFORMED', `request body refused by the parser: ${e.type}`), status };
}

export function ssoErrorHandler(opts: { logger: Logger; failures: Counter<'code'> }): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const log: Logger = req.log ?? opts.logger;
    const correlationId = String(res.locals.requestId ?? req.id ?? '');
    const target = res.locals.ssoErrorTarget as SsoErrorTarget | undefined;
    const org = target?.slug ?? null;
    res.set('Cache-Control', 'no-store');

    const known = err instanceof SsoError ? { error: err, status: SSO_ERROR_STATUS[err.code] } : fromBodyParser(err);
    if (!known) {
      opts.failures.inc({ code: 'internal' });
      log.error({ err, correlationId, org }, 'sso request failed unexpectedly');
      res.status(500).type('html').send(renderSsoErrorPage({ correlationId }));
      return;
    }

    const { code, reason, detail } = known.error;
    opts.failures.inc({ code });
    log.warn({ correlationId, code, reason, org }, 'sso sign-in refused');
    if (target?.errorUrl) {
      res.redirect(302, errorRedirectUrl(target.errorUrl, code));
      return;
    }
    res.status(known.status).type('html').send(renderSsoErrorPage({ code, detail, correlationId }));
  };
}
