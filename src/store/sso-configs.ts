import type { Executor } from './database.js';

/** One org's stored Federated Web SSO configuration (R-SAML-1), as saved. */
export interface StoredSsoConfig {
  orgId: string;
  /** The normalized configuration as JSON-parsed; complete it with `effectiveSsoConfig`. */
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export async function findSsoConfig(db: Executor, orgId: string): Promise<StoredSsoConfig | undefined> {
  const row = await db.selectFrom('sso_configs').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  return (
    row && {
      orgId: row.org_id,
      config: JSON.parse(row.config) as Record<string, unknown>,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  );
}

/** Inserts or replaces the org's configuration (one row per org). */
export async function upsertSsoConfig(db: Executor, orgId: string, config: object, now: number): Promise<void> {
  const json = JSON.stringify(config);
  await db
    .insertInto('sso_configs')
    .values({ org_id: orgId, config: json, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ config: json, updated_at: now }))
    .execute();
}

/**
 * Whether the org has an active service certificate (R-SAML-1: a signed AuthnRequest needs
 * one). The certificates concern owns `service_certificates` (migration 0002); when that
 * table is missing this says so plainly rather than answering "no".
 */
export async function hasActiveServiceCertificate(db: Executor, orgId: string): Promise<boolean> {
  try {
    const row = await db
      .selectFrom('service_certificates')
      .select('id')
      .where('org_id', '=', orgId)
      .where('active', '=', 1)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === '42P01' || /no such table/i.test(e?.message ?? '')) {
      throw new Error(
        'cannot check for an active service certificate: table service_certificates does not exist (migration 0002-certificates not applied)',
      );
    }
    throw err;
  }
}
