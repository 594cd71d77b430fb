import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * IdP metadata sources and sent LogoutRequests (R-SAML-7, R-SAML-9). One metadata source per
 * org; the refresh schedule is a column so any instance can claim a due refresh with one
 * conditional UPDATE. A LogoutRequest ID is consumed once by a conditional UPDATE.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('metadata_sources')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id').onDelete('cascade'))
    .addColumn('url', 'text')
    .addColumn('entity_id', 'text')
    .addColumn('signing_certificate', 'text')
    .addColumn('document', 'text')
    .addColumn('document_sha256', 'text')
    .addColumn('fetched_at', 'bigint')
    .addColumn('valid_until', 'bigint')
    .addColumn('next_refresh_at', 'bigint')
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'bigint')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unknown_key_refresh_at', 'bigint')
    .addColumn('slo_location', 'text')
    .addColumn('slo_binding', 'text')
    .addColumn('slo_response_location', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metadata_sources_next_refresh').on('metadata_sources').column('next_refresh_at').execute();

  await db.schema
    .createTable('logout_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('relay_state', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('logout_requests_expires').on('logout_requests').column('expires_at').execute();
}
