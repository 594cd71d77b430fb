import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * IDs of the LogoutRequests the IdP sent us (R-SAML-9), per org, kept while the message could
 * still be accepted. The primary key is the replay check, like saml_assertion_ids: a captured
 * signed LogoutRequest cannot end a later session of the same user.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('received_logout_requests')
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('received_logout_requests_pk', ['org_id', 'request_id'])
    .execute();
  await db.schema.createIndex('received_logout_requests_expires').on('received_logout_requests').column('expires_at').execute();
}
