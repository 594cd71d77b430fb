import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

/**
 * Service and organisation certificates (R-CERT-1 … R-CERT-4). The invariants live here:
 * one alias per org and table, one stored copy of an org certificate, and — through a
 * partial unique index, which SQLite and PostgreSQL both support — at most one active
 * certificate of each kind per org. "At most three" needs a count, so it is enforced under
 * the org-row lock taken by every certificate change (src/store/certificates.ts).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('service_certificates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('certificate_pem', 'text', (c) => c.notNull())
    .addColumn('private_key_sealed', 'text', (c) => c.notNull())
    .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0).check(sql`active in (0, 1)`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('service_certificates_alias').unique().on('service_certificates').columns(['org_id', 'alias']).execute();
  await db.schema
    .createIndex('service_certificates_one_active')
    .unique()
    .on('service_certificates')
    .column('org_id')
    .where(sql.ref('active'), '=', 1)
    .execute();

  await db.schema
    .createTable('org_certificates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('certificate_pem', 'text', (c) => c.notNull())
    .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0).check(sql`active in (0, 1)`))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('upload', 'metadata')`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('org_certificates_alias').unique().on('org_certificates').columns(['org_id', 'alias']).execute();
  await db.schema
    .createIndex('org_certificates_fingerprint')
    .unique()
    .on('org_certificates')
    .columns(['org_id', 'fingerprint_sha256'])
    .execute();
  await db.schema
    .createIndex('org_certificates_one_active')
    .unique()
    .on('org_certificates')
    .column('org_id')
    .where(sql.ref('active'), '=', 1)
    .execute();
}
