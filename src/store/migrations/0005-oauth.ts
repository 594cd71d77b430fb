import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * OAuth 2.0 / OpenID token service (SPEC §7). Single use of codes and refresh tokens is a
 * conditional UPDATE on `consumed_at`, and "one current signing key" is a partial unique
 * index, so both hold across instances (R-OPS-2).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('oauth_artifacts')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id_hash', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id_hash', 'text')
    .addColumn('uid_hash', 'text')
    .addColumn('account_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('saml_session_hash', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_artifacts_pk', ['model', 'id_hash'])
    .execute();
  await db.schema.createIndex('oauth_artifacts_grant').on('oauth_artifacts').column('grant_id_hash').execute();
  await db.schema.createIndex('oauth_artifacts_uid').on('oauth_artifacts').columns(['model', 'uid_hash']).execute();
  await db.schema.createIndex('oauth_artifacts_account').on('oauth_artifacts').column('account_id').execute();
  await db.schema.createIndex('oauth_artifacts_client').on('oauth_artifacts').column('client_id').execute();
  await db.schema.createIndex('oauth_artifacts_saml_session').on('oauth_artifacts').column('saml_session_hash').execute();
  await db.schema.createIndex('oauth_artifacts_expires').on('oauth_artifacts').column('expires_at').execute();

  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('grant_types', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oauth_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  // At most one current key, even when two instances start on an empty database together.
  await db.schema
    .createIndex('oauth_signing_keys_one_current')
    .unique()
    .on('oauth_signing_keys')
    .column('status')
    .where('status', '=', 'current')
    .execute();
}
