import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from '../database.js';
import * as m0001 from './0001-foundation.js';
import * as m0002 from './0002-certificates.js';
import * as m0003 from './0003-saml.js';
import * as m0004 from './0004-accounts.js';
import * as m0005 from './0005-oauth.js';
import * as m0006SamlMetadata from './0006-saml-metadata.js';
import * as m0007ReceivedLogoutRequests from './0007-received-logout-requests.js';

export interface MigrationContext {
  dialect: Dialect;
}

type MigrationModule = { up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> };

/**
 * The ordered list of migrations. One file per step; a concern adding tables adds a file
 * and one line here. The list is static so bundling and tsx need no directory scans.
 */
const MIGRATIONS: ReadonlyArray<[string, MigrationModule]> = [
  ['0001-foundation', m0001],
  ['0002-certificates', m0002],
  ['0003-saml', m0003],
  ['0004-accounts', m0004],
  ['0005-oauth', m0005],
  ['0006-saml-metadata', m0006SamlMetadata],
  ['0007-received-logout-requests', m0007ReceivedLogoutRequests],
];

class StaticProvider implements MigrationProvider {
  constructor(private readonly ctx: MigrationContext) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      MIGRATIONS.map(([name, mod]) => [name, { up: (db: Kysely<unknown>) => mod.up(db, this.ctx) }]),
    );
  }
}

/** Applies every pending migration; returns the names applied. Throws on the first failure. */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider({ dialect }) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
