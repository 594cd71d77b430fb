import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { onAccountDeactivated } from './accounts/account-events.js';
import type { AppContext } from './app-context.js';
import { createOrgKeyProvider } from './certs/org-key-provider.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { registerCertificateMetrics } from './certs/certificate-metrics.js';
import { loadMasterKey, type MasterKey } from './crypto/master-key.js';
import { apiRouter } from './http/api/index.js';
import { healthRoutes } from './http/health-routes.js';
import { metadataRoutes } from './http/metadata-routes.js';
import { sloRoutes } from './http/slo-routes.js';
import { createMetricsRegistry, httpMetrics } from './http/metrics.js';
import { requestIdFor } from './http/request-id.js';
import { ssoRoutes } from './http/sso-routes.js';
import { createLogger } from './logger.js';
import { oauthRoutes } from './oauth/oauth-routes.js';
import { revokeOAuthOnAccountDeactivated } from './oauth/token-revocation.js';
import { openDatabase, type DatabaseHandle } from './store/database.js';
import { startMetadataRefreshScheduler } from './saml/metadata-refresh.js';
import { migrateToLatest } from './store/migrations/index.js';
import { revokeSessionsOfAccount } from './store/saml-sessions.js';

// R-ACC-6: deactivating an account revokes its SAML sessions in the same transaction.
onAccountDeactivated((trx, e) => revokeSessionsOfAccount(trx, e.accountId, e.now));
// R-ACC-6: … and its OAuth grants, refresh tokens and OAuth sessions.
onAccountDeactivated(revokeOAuthOnAccountDeactivated);

export interface AppOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** An already-open database (tests share one per suite); otherwise opened from config. */
  database?: DatabaseHandle;
  masterKey?: MasterKey;
}

export interface App {
  app: Express;
  ctx: AppContext;
  close(): Promise<void>;
}

/** Builds the context every flow uses: database (migrated), master key, clock, logger. */
export async function createContext(opts: AppOptions): Promise<AppContext> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = opts.database ?? openDatabase(config.databaseUrl);
  await migrateToLatest(database.db, database.dialect);
  const masterKey = opts.masterKey ?? loadMasterKey({ configured: config.masterKey, certsDir: config.certsDir });
  const clock = opts.clock ?? systemClock;
  const metrics = createMetricsRegistry();
  registerCertificateMetrics(metrics, database, clock);
  return {
    config,
    database,
    clock,
    logger,
    masterKey,
    metrics,
    orgKeys: createOrgKeyProvider({ database, masterKey }),
  };
}

/** The composition root: the Express app with every route, from one context. */
export function buildHttpApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', ctx.config.trustProxy);
  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => requestIdFor(req, res),
      customProps: (req) => ({ requestId: req.id }),
      // Paths and status only: query strings may carry SAMLResponse or tokens.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
    }),
  );
  app.use((req, res, next) => {
    res.locals.requestId = String(req.id);
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { 'form-action': ["'self'", 'https:', 'http:'], 'script-src': ["'self'"] },
      },
    }),
  );
  app.use(httpMetrics(ctx.metrics));
  app.use(healthRoutes(ctx));
  // OAuth/OpenID (SPEC §7) before any body parser: oidc-provider reads its own bodies.
  app.use(oauthRoutes(ctx));
  app.use(ssoRoutes(ctx));
  app.use('/api/v1', apiRouter(ctx));
  app.use(metadataRoutes(ctx));
  app.use(sloRoutes(ctx));
  return app;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const ctx = await createContext(opts);
  const app = buildHttpApp(ctx);
  // R-SAML-7: followed IdP metadata is refreshed in the background (unref'd timer).
  const metadataRefresh = startMetadataRefreshScheduler(ctx);
  return {
    app,
    ctx,
    close: async () => {
      metadataRefresh.stop();
      if (!opts.database) await ctx.database.close();
    },
  };
}
