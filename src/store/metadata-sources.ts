import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { MetadataSourcesTable } from './schema-metadata.js';

/**
 * Repository of each org's IdP metadata source (R-SAML-7): the followed URL or uploaded
 * document, the last good copy, the refresh schedule and the IdP's SingleLogoutService.
 * Refresh claims and the unknown-key rate limit are conditional UPDATEs, so two instances
 * never refresh one org at the same time.
 */
export interface MetadataSource {
  orgId: string;
  url: string | null;
  entityId: string | null;
  signingCertificate: string | null;
  document: string | null;
  documentSha256: string | null;
  fetchedAt: number | null;
  validUntil: number | null;
  nextRefreshAt: number | null;
  lastAttemptAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
  unknownKeyRefreshAt: number | null;
  sloLocation: string | null;
  sloBinding: string | null;
  sloResponseLocation: string | null;
  createdAt: number;
  updatedAt: number;
}

function toSource(row: Selectable<MetadataSourcesTable>): MetadataSource {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    orgId: row.org_id,
    url: row.url,
    entityId: row.entity_id,
    signingCertificate: row.signing_certificate,
    document: row.document,
    documentSha256: row.document_sha256,
    fetchedAt: n(row.fetched_at),
    validUntil: n(row.valid_until),
    nextRefreshAt: n(row.next_refresh_at),
    lastAttemptAt: n(row.last_attempt_at),
    lastError: row.last_error,
    lastErrorAt: n(row.last_error_at),
    consecutiveFailures: Number(row.consecutive_failures),
    unknownKeyRefreshAt: n(row.unknown_key_refresh_at),
    sloLocation: row.slo_location,
    sloBinding: row.slo_binding,
    sloResponseLocation: row.slo_response_location,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function findMetadataSource(db: Executor, orgId: string): Promise<MetadataSource | undefined> {
  const row = await db.selectFrom('metadata_sources').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  return row && toSource(row);
}

export type MetadataSourceChanges = Partial<Omit<MetadataSource, 'orgId' | 'createdAt' | 'updatedAt'>>;

const COLUMN: Record<keyof MetadataSourceChanges, keyof MetadataSourcesTable> = {
  url: 'url',
  entityId: 'entity_id',
  signingCertificate: 'signing_certificate',
  document: 'document',
  documentSha256: 'document_sha256',
  fetchedAt: 'fetched_at',
  validUntil: 'valid_until',
  nextRefreshAt: 'next_refresh_at',
  lastAttemptAt: 'last_attempt_at',
  lastError: 'last_error',
  lastErrorAt: 'last_error_at',
  consecutiveFailures: 'consecutive_failures',
  unknownKeyRefreshAt: 'unknown_key_refresh_at',
  sloLocation: 'slo_location',
  sloBinding: 'slo_binding',
  sloResponseLocation: 'slo_response_location',
};

function toColumns(changes: MetadataSourceChanges): Partial<MetadataSourcesTable> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    out[COLUMN[key as keyof MetadataSourceChanges]] = value;
  }
  return out as Partial<MetadataSourcesTable>;
}

/** Creates the org's source row or changes the given fields of it. */
export async function upsertMetadataSource(db: Executor, orgId: string, changes: MetadataSourceChanges, now: number): Promise<void> {
  const columns = toColumns(changes);
  await db
    .insertInto('metadata_sources')
    .values({ consecutive_failures: 0, ...columns, org_id: orgId, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ ...columns, updated_at: now }))
    .execute();
}

/** Org ids whose followed URL is due for a refresh at `now`, oldest due first. */
export async function listDueMetadataSources(db: Executor, now: number, limit: number): Promise<Array<{ orgId: string; nextRefreshAt: number }>> {
  const rows = await db
    .selectFrom('metadata_sources')
    .select(['org_id', 'next_refresh_at'])
    .where('url', 'is not', null)
    .where('next_refresh_at', '<=', now)
    .orderBy('next_refresh_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ orgId: r.org_id, nextRefreshAt: Number(r.next_refresh_at) }));
}

/**
 * Claims a due refresh: moves `next_refresh_at` from the value the caller saw to `until`.
 * Exactly one of several instances racing for it wins (true).
 */
export async function claimMetadataRefresh(db: Executor, orgId: string, seenNextRefreshAt: number, until: number): Promise<boolean> {
  const r = await db
    .updateTable('metadata_sources')
    .set({ next_refresh_at: until })
    .where('org_id', '=', orgId)
    .where('url', 'is not', null)
    .where('next_refresh_at', '=', seenNextRefreshAt)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * The unknown-key rate limit: records `now` as the last unknown-key refresh unless one
 * happened after `notBefore`. True when the caller may refresh.
 */
export async function claimUnknownKeyRefresh(db: Executor, orgId: string, now: number, notBefore: number): Promise<boolean> {
  const r = await db
    .updateTable('metadata_sources')
    .set({ unknown_key_refresh_at: now })
    .where('org_id', '=', orgId)
    .where('url', 'is not', null)
    .where((eb) => eb.or([eb('unknown_key_refresh_at', 'is', null), eb('unknown_key_refresh_at', '<=', notBefore)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface RemovedOrgCertificate {
  id: string;
  alias: string;
  fingerprintSha256: string;
  active: boolean;
}

/**
 * While an org follows a metadata URL its organisation certificates follow the document
 * (R-SAML-7): removes the org certificates whose fingerprint is not in `keep`, the active one
 * included (the caller, holding the org certificate lock, makes another one active in the
 * same transaction). Returns what was removed.
 */
export async function removeOrgCertificatesNotIn(db: Executor, orgId: string, keep: readonly string[]): Promise<RemovedOrgCertificate[]> {
  let q = db.selectFrom('org_certificates').select(['id', 'alias', 'fingerprint_sha256', 'active']).where('org_id', '=', orgId);
  if (keep.length > 0) q = q.where('fingerprint_sha256', 'not in', [...keep]);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  await db
    .deleteFrom('org_certificates')
    .where('org_id', '=', orgId)
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  return rows.map((r) => ({ id: r.id, alias: r.alias, fingerprintSha256: r.fingerprint_sha256, active: Number(r.active) === 1 }));
}
