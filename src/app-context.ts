import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OrgKeyProvider } from './certs/org-key-provider.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { MasterKey } from './crypto/master-key.js';
import type { DatabaseHandle } from './store/database.js';

/**
 * Everything a flow needs, built once by the composition root (src/app.ts) from the
 * validated configuration. Tests build the same context with a temporary database and a
 * manual clock.
 */
export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  clock: Clock;
  logger: Logger;
  masterKey: MasterKey;
  metrics: Registry;
  /** Parsed IdP and service keys per org, cached by org version (src/certs/org-key-provider.ts). */
  orgKeys: OrgKeyProvider;
}
