import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * Accounts (R-ACC). Uniqueness lives in the database so concurrent first sign-ins or imports
 * cannot create two accounts for one user: per org, one uid and one e-mail (case-insensitive,
 * through the normalized columns) and one ssoid.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('uid_norm', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_norm', 'text', (c) => c.notNull())
    .addColumn('firstname', 'text', (c) => c.notNull())
    .addColumn('lastname', 'text', (c) => c.notNull())
    .addColumn('name_norm', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('sso_id', 'text')
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('update_time_stamp', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('accounts_org_uid').unique().on('accounts').columns(['org_id', 'uid_norm']).execute();
  await db.schema.createIndex('accounts_org_email').unique().on('accounts').columns(['org_id', 'email_norm']).execute();
  await db.schema
    .createIndex('accounts_org_sso_id')
    .unique()
    .on('accounts')
    .columns(['org_id', 'sso_id'])
    .where('sso_id', 'is not', null)
    .execute();
  // The primary-administrator rule counts an org's active orgAdmins.
  await db.schema.createIndex('accounts_org_role_status').on('accounts').columns(['org_id', 'role', 'status']).execute();
}
