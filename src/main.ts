import { createApp } from './app.js';
import { bootstrapSuperAdmin, BOOTSTRAP_HINT } from './admin/api-key-service.js';
import { ConfigError, loadConfig } from './config.js';

/** `npm start`: validate configuration, migrate, bootstrap, serve, shut down gracefully. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fedbridge: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { app, ctx, close } = await createApp({ config });
  const log = ctx.logger;

  const outcome = await bootstrapSuperAdmin(ctx);
  if (outcome === 'created-from-environment') {
    log.info('created the first super administrator from FEDBRIDGE_BOOTSTRAP_ADMIN_KEY');
  } else if (outcome === 'needs-admin') {
    process.stdout.write(`\n${BOOTSTRAP_HINT}\n\n`);
  }

  const server = app.listen(config.port, () => {
    log.info({ port: config.port, publicUrl: config.publicUrl, database: ctx.database.dialect }, 'fedbridge listening');
  });
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      log.warn('forced shutdown after 10 s');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close(async () => {
      await close();
      log.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`fedbridge: failed to start: ${err.message}\n`);
  process.exit(1);
});
