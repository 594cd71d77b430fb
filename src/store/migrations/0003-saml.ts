import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * SAML SP state (R-SAML-1, R-SAML-2, R-SAML-3, R-SAML-6): the per-org SSO configuration and
 * the shared sign-in state. Single use and replay are enforced by keys and conditional
 * updates here, so they hold across instances (R-OPS-2).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sso_configs')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id').onDelete('cascade'))
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('authn_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('relay_state', 'text')
    .addColumn('target', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  // A RelayState handle names one stored request (NULLs do not collide on either engine).
  await db.schema.createIndex('authn_requests_relay_state').unique().on('authn_requests').columns(['org_id', 'relay_state']).execute();
  await db.schema.createIndex('authn_requests_expires').on('authn_requests').column('expires_at').execute();

  // The primary key is the replay check: a second insert of one assertion id fails.
  await db.schema
    .createTable('saml_assertion_ids')
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('assertion_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_assertion_ids_pk', ['org_id', 'assertion_id'])
    .execute();
  await db.schema.createIndex('saml_assertion_ids_expires').on('saml_assertion_ids').column('expires_at').execute();

  await db.schema
    .createTable('saml_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name_id', 'text', (c) => c.notNull())
    .addColumn('name_id_format', 'text')
    .addColumn('session_index', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('saml_sessions_account').on('saml_sessions').column('account_id').execute();
  await db.schema.createIndex('saml_sessions_name_id').on('saml_sessions').columns(['org_id', 'name_id']).execute();
  await db.schema.createIndex('saml_sessions_expires').on('saml_sessions').column('expires_at').execute();
}
