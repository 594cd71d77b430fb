import { sql, type Selectable } from 'kysely';
import type { Dialect, Executor } from './database.js';
import type { OrgCertificatesTable } from './schema-certificates.js';

/**
 * Repository of service and organisation certificates (R-CERT). The database holds the
 * invariants: unique alias per org, one stored copy of an org certificate, at most one
 * active certificate per org and kind (partial unique index). "At most three" and "exactly
 * one active after an activation" are kept by doing every change inside a transaction that
 * first takes `lockOrgCertificates`, so concurrent changes of one org run one after another.
 */
export type CertificateKind = 'service' | 'org';
export type OrgCertificateSource = 'upload' | 'metadata';

/** R-CERT: at most three certificates of each kind per organisation. */
export const MAX_CERTIFICATES_PER_KIND = 3;

/** A stored certificate, without key material (the sealed private key has its own reader). */
export interface CertificateRecord {
  id: string;
  orgId: string;
  kind: CertificateKind;
  alias: string;
  certificatePem: string;
  fingerprintSha256: string;
  notAfter: number;
  active: boolean;
  createdAt: number;
  /** Organisation certificates only. */
  source?: OrgCertificateSource;
}

export type NewCertificate = Omit<CertificateRecord, 'kind' | 'source'>;

/** A service certificate's sealed private key, for the key provider only. */
export interface ServiceKeyMaterial {
  id: string;
  certificatePem: string;
  privateKeySealed: string;
  active: boolean;
}

const TABLES = { service: 'service_certificates', org: 'org_certificates' } as const;

/**
 * The table of a kind, typed as `org_certificates`: the queries that take it touch only the
 * columns both tables share (id, org_id, alias, certificate_pem, fingerprint_sha256,
 * not_after, active, created_at), which Kysely cannot express for a union of tables.
 */
function tableOf(kind: CertificateKind): 'org_certificates' {
  return TABLES[kind] as 'org_certificates';
}

const COMMON_COLUMNS = ['id', 'org_id', 'alias', 'certificate_pem', 'fingerprint_sha256', 'not_after', 'active', 'created_at'] as const;

type CommonRow = Pick<Selectable<OrgCertificatesTable>, (typeof COMMON_COLUMNS)[number]>;

function toRecord(kind: CertificateKind, row: CommonRow & { source?: string }): CertificateRecord {
  const record: CertificateRecord = {
    id: row.id,
    orgId: row.org_id,
    kind,
    alias: row.alias,
    certificatePem: row.certificate_pem,
    fingerprintSha256: row.fingerprint_sha256,
    notAfter: Number(row.not_after),
    active: Number(row.active) === 1,
    createdAt: Number(row.created_at),
  };
  if (kind === 'org') record.source = row.source as OrgCertificateSource;
  return record;
}

/**
 * Serialises certificate changes of one org; call it first in the transaction. PostgreSQL:
 * a row lock on the org held until commit. SQLite: a write as the first statement takes the
 * database write lock at once (a deferred transaction would only take it at its first
 * insert, after it had counted); within one process Kysely's SQLite driver already runs
 * transactions one at a time.
 */
export async function lockOrgCertificates(trx: Executor, dialect: Dialect, orgId: string): Promise<void> {
  if (dialect === 'postgres') {
    await trx.selectFrom('orgs').select('id').where('id', '=', orgId).forUpdate().execute();
  } else {
    await trx.updateTable('orgs').set({ version: sql<number>`version` }).where('id', '=', orgId).execute();
  }
}

export async function countCertificates(db: Executor, kind: CertificateKind, orgId: string): Promise<number> {
  const row = await db
    .selectFrom(tableOf(kind))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

interface RecordFilter {
  id?: string;
  alias?: string;
}

/** Certificates of one org and kind: active first, then oldest first (the order the console lists and keys are tried). */
async function queryRecords(db: Executor, kind: CertificateKind, orgId: string, filter: RecordFilter = {}): Promise<CertificateRecord[]> {
  if (kind === 'org') {
    let q = db.selectFrom('org_certificates').selectAll().where('org_id', '=', orgId);
    if (filter.id !== undefined) q = q.where('id', '=', filter.id);
    if (filter.alias !== undefined) q = q.where('alias', '=', filter.alias);
    const rows = await q.orderBy('active', 'desc').orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => toRecord('org', r));
  }
  // Never selectAll here: the sealed private key stays out of every record.
  let q = db.selectFrom('service_certificates').select(COMMON_COLUMNS).where('org_id', '=', orgId);
  if (filter.id !== undefined) q = q.where('id', '=', filter.id);
  if (filter.alias !== undefined) q = q.where('alias', '=', filter.alias);
  const rows = await q.orderBy('active', 'desc').orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => toRecord('service', r));
}

export function listCertificates(db: Executor, kind: CertificateKind, orgId: string): Promise<CertificateRecord[]> {
  return queryRecords(db, kind, orgId);
}

export async function findCertificate(db: Executor, kind: CertificateKind, orgId: string, id: string): Promise<CertificateRecord | undefined> {
  return (await queryRecords(db, kind, orgId, { id }))[0];
}

export async function findCertificateByAlias(
  db: Executor,
  kind: CertificateKind,
  orgId: string,
  alias: string,
): Promise<CertificateRecord | undefined> {
  return (await queryRecords(db, kind, orgId, { alias }))[0];
}

export async function findOrgCertificateByFingerprint(db: Executor, orgId: string, fingerprintSha256: string): Promise<CertificateRecord | undefined> {
  const row = await db
    .selectFrom('org_certificates')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('fingerprint_sha256', '=', fingerprintSha256)
    .executeTakeFirst();
  return row && toRecord('org', row);
}

/** The columns both tables share, as a row. */
function commonValues(cert: NewCertificate) {
  return {
    id: cert.id,
    org_id: cert.orgId,
    alias: cert.alias,
    certificate_pem: cert.certificatePem,
    fingerprint_sha256: cert.fingerprintSha256,
    not_after: cert.notAfter,
    active: cert.active ? 1 : 0,
    created_at: cert.createdAt,
  };
}

export async function insertServiceCertificate(
  db: Executor,
  cert: NewCertificate & { privateKeySealed: string },
): Promise<void> {
  await db
    .insertInto('service_certificates')
    .values({ ...commonValues(cert), private_key_sealed: cert.privateKeySealed })
    .execute();
}

export async function insertOrgCertificate(db: Executor, cert: NewCertificate & { source: OrgCertificateSource }): Promise<void> {
  await db
    .insertInto('org_certificates')
    .values({ ...commonValues(cert), source: cert.source })
    .execute();
}

/**
 * Makes `id` the org's only active certificate of its kind. The others are switched off
 * first, so the partial unique index never sees two active rows; with the org lock held, a
 * concurrent activation waits and then does the same, so exactly one stays active. Returns
 * false when `id` is not a certificate of this org (nothing changed then).
 */
export async function activateCertificate(db: Executor, kind: CertificateKind, orgId: string, id: string): Promise<boolean> {
  const table = tableOf(kind);
  await db.updateTable(table).set({ active: 0 }).where('org_id', '=', orgId).where('active', '=', 1).where('id', '!=', id).execute();
  const result = await db.updateTable(table).set({ active: 1 }).where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deletes a certificate unless it is active; true when a row was deleted. */
export async function deleteInactiveCertificate(db: Executor, kind: CertificateKind, orgId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom(tableOf(kind))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('active', '=', 0)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function hasActiveCertificate(db: Executor, kind: CertificateKind, orgId: string): Promise<boolean> {
  const row = await db
    .selectFrom(tableOf(kind))
    .select('id')
    .where('org_id', '=', orgId)
    .where('active', '=', 1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The org's service certificates with their sealed keys, active first. */
export async function listServiceKeyMaterial(db: Executor, orgId: string): Promise<ServiceKeyMaterial[]> {
  const rows = await db
    .selectFrom('service_certificates')
    .select(['id', 'certificate_pem', 'private_key_sealed', 'active'])
    .where('org_id', '=', orgId)
    .orderBy('active', 'desc')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    certificatePem: r.certificate_pem,
    privateKeySealed: r.private_key_sealed,
    active: Number(r.active) === 1,
  }));
}

/** Associated data binding a sealed service key to its row (R-CERT-4). */
export function serviceKeyAssociatedData(id: string): string {
  return `service-cert:${id}`;
}
