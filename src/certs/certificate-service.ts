/**
 * Certificate management flows (R-CERT-1 … R-CERT-4): generate a service certificate, import
 * an organisation certificate, list, describe, export, remove, activate. The routes and the
 * CLI are thin wrappers around these. Every change runs in one transaction that first locks
 * the org's certificates (src/store/certificates.ts), bumps the org version so every
 * instance's key cache sees it is stale, and writes exactly one audit entry — never with key
 * material in it. The private key of a service certificate is sealed before it is stored and
 * no function here returns it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { authorize, type Capability, type Principal } from '../admin/principal.js';
import { ssoOptionLabel, ssoOptionsFor, type SsoOption } from '../admin/sso-options.js';
import { parseInput } from '../admin/validation.js';
import { seal } from '../crypto/envelope.js';
import { recordAudit } from '../store/audit.js';
import {
  MAX_CERTIFICATES_PER_KIND,
  activateCertificate,
  countCertificates,
  deleteInactiveCertificate,
  findCertificate,
  findCertificateByAlias,
  findOrgCertificateByFingerprint,
  insertOrgCertificate,
  insertServiceCertificate,
  listCertificates,
  lockOrgCertificates,
  serviceKeyAssociatedData,
  type CertificateKind,
  type CertificateRecord,
  type OrgCertificateSource,
} from '../store/certificates.js';
import { onUniqueViolation, type Executor } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { bumpOrgVersion, type Org } from '../store/orgs.js';
import { CertificateInputError } from './certificate-input-error.js';
import { MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS, generateServiceCertificate } from './x509-generator.js';
import { describeCertificate, exportCertificate, parseCertificateUpload, type CertificateDetails } from './x509-parser.js';

export type { CertificateKind } from '../store/certificates.js';

/** What the API and the CLI show for a certificate (Appendix A; R-CERT-3). */
export interface CertificateView extends CertificateDetails {
  id: string;
  alias: string;
  active: boolean;
  /** ISO 8601. */
  createdAt: string;
  /** Organisation certificates only: how it arrived. */
  source?: OrgCertificateSource;
}

export interface CertificateFile {
  /** `<alias>.cer`, for Content-Disposition. */
  filename: string;
  contentType: string;
  body: Buffer;
}

const OPTION_OF_KIND: Record<CertificateKind, SsoOption> = { service: 'serviceCertificates', org: 'orgCertificates' };
const NOUN: Record<CertificateKind, string> = { service: 'service certificate', org: 'organisation certificate' };
const AUDIT_PREFIX: Record<CertificateKind, string> = { service: 'serviceCertificate', org: 'orgCertificate' };

/** What every certificate change writes in its transaction: the org's new version (caches see they are stale) and one audit entry. */
async function recordCertificateChange(
  trx: Executor,
  principal: Principal,
  org: Org,
  kind: CertificateKind,
  verb: string,
  id: string,
  details: Record<string, unknown>,
  now: number,
): Promise<void> {
  await bumpOrgVersion(trx, org.id, now);
  await recordAudit(trx, { orgId: org.id, actor: principal.actor, action: `${AUDIT_PREFIX[kind]}.${verb}`, target: `${AUDIT_PREFIX[kind]}:${id}`, details }, now);
}
const WHO_SEES: Record<CertificateKind, string> = {
  service: 'SSO organisations',
  org: 'SSO organisations and Delegated Authentication organisations',
};

const alias = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

const generateSchema = z
  .object({
    alias,
    validityDays: z
      .number({ error: 'must be a whole number of days' })
      .int('must be a whole number of days')
      .min(MIN_VALIDITY_DAYS, `must be at least ${MIN_VALIDITY_DAYS} days`)
      .max(MAX_VALIDITY_DAYS, `must be at most ${MAX_VALIDITY_DAYS} days`),
    keySize: z.union([z.literal(2048), z.literal(3072), z.literal(4096)], { error: 'must be 2048, 3072 or 4096' }).optional(),
  })
  .strict();

const importSchema = z
  .object({
    alias,
    certificate: z.union([z.string(), z.instanceof(Buffer)], {
      error: 'must be the certificate: PEM text or base64 of the DER (or a file upload)',
    }),
  })
  .strict();

/** Capability check, then the R-ORG-2 matrix: a hidden option is a 403 with a clear reason. */
function gate(principal: Principal, org: Org, kind: CertificateKind, capability: Capability): void {
  authorize(principal, capability, org.id);
  const option = OPTION_OF_KIND[kind];
  if (!ssoOptionsFor(org).includes(option)) {
    throw ApiError.forbidden(
      `${ssoOptionLabel(option)} is not available for ${org.slug}: it is offered only to ${WHO_SEES[kind]} ` +
        '(a super administrator sets ssoEnabled / delegatedAuthOrg)',
    );
  }
}

/** A refused certificate input is bad input: 422 naming the field. */
function rethrowInput(err: unknown): never {
  if (err instanceof CertificateInputError) throw ApiError.invalid(err.field, err.message);
  throw err;
}

/** An uploaded certificate (PEM text, base64 DER or file bytes), or 422 naming the field. */
function parseUpload(certificate: string | Buffer): { der: Buffer; pem: string } {
  try {
    return parseCertificateUpload(certificate);
  } catch (err) {
    rethrowInput(err);
  }
}

function limitReached(kind: CertificateKind): ApiError {
  return ApiError.conflict(
    `this organisation already has ${MAX_CERTIFICATES_PER_KIND} ${NOUN[kind]}s, the limit is ${MAX_CERTIFICATES_PER_KIND}; remove one that is not active first`,
  );
}

function aliasTaken(kind: CertificateKind, name: string): ApiError {
  return ApiError.conflict(`a ${NOUN[kind]} with alias "${name}" already exists in this organisation`, 'alias');
}

function derOf(record: CertificateRecord): Buffer {
  // Stored PEM is canonical (one block, written by us), so its body is exactly the DER.
  return Buffer.from(record.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), 'base64');
}

function fingerprintHex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

export function certificateView(record: CertificateRecord, now: number): CertificateView {
  const view: CertificateView = {
    id: record.id,
    alias: record.alias,
    active: record.active,
    createdAt: new Date(record.createdAt).toISOString(),
    ...describeCertificate(derOf(record), now),
  };
  if (record.source) view.source = record.source;
  return view;
}

/** The non-secret facts an audit entry records about a certificate. */
function auditSummary(record: CertificateRecord): Record<string, unknown> {
  return {
    id: record.id,
    alias: record.alias,
    sha256Fingerprint: record.fingerprintSha256,
    validTo: new Date(record.notAfter).toISOString(),
    active: record.active,
    ...(record.source && { source: record.source }),
  };
}

/** The subject CN of an org's service certificates, e.g. `example.com fedbridge SP` (≤ 64 characters). */
export function serviceCommonName(org: Org): string {
  const suffix = ' fedbridge SP';
  return `${org.slug.slice(0, 64 - suffix.length)}${suffix}`;
}

async function loadCertificate(db: Executor, kind: CertificateKind, org: Org, id: string): Promise<CertificateRecord> {
  const record = await findCertificate(db, kind, org.id, id);
  if (!record) throw ApiError.notFound(`${NOUN[kind]} ${id}`);
  return record;
}

/** Cheap refusals before the expensive part (key generation); repeated under the lock. */
async function precheck(ctx: AppContext, kind: CertificateKind, org: Org, name: string): Promise<void> {
  const db = ctx.database.db;
  if (await findCertificateByAlias(db, kind, org.id, name)) throw aliasTaken(kind, name);
  if ((await countCertificates(db, kind, org.id)) >= MAX_CERTIFICATES_PER_KIND) throw limitReached(kind);
}

/**
 * Under the org lock: the alias is free and the limit not reached. Returns whether the new
 * certificate is the first of its kind (and so becomes active).
 */
async function checkRoom(trx: Executor, kind: CertificateKind, org: Org, name: string): Promise<boolean> {
  if (await findCertificateByAlias(trx, kind, org.id, name)) throw aliasTaken(kind, name);
  const count = await countCertificates(trx, kind, org.id);
  if (count >= MAX_CERTIFICATES_PER_KIND) throw limitReached(kind);
  return count === 0;
}

/** R-CERT-1: `{alias, validityDays, keySize?}` → a new self-signed service certificate. */
export async function createServiceCertificate(ctx: AppContext, principal: Principal, org: Org, body: unknown): Promise<CertificateView> {
  gate(principal, org, 'service', 'org:configure');
  const input = parseInput(generateSchema, body);
  await precheck(ctx, 'service', org, input.alias);

  const now = ctx.clock.now();
  let generated: { certificatePem: string; privateKeyPem: string };
  try {
    generated = generateServiceCertificate({
      commonName: serviceCommonName(org),
      validityDays: input.validityDays,
      ...(input.keySize !== undefined && { keySize: input.keySize }),
      now,
    });
  } catch (err) {
    rethrowInput(err);
  }
  const { der, pem } = parseCertificateUpload(generated.certificatePem);
  const details = describeCertificate(der, now);
  const id = randomUUID();
  const record: CertificateRecord = {
    id,
    orgId: org.id,
    kind: 'service',
    alias: input.alias,
    certificatePem: pem,
    fingerprintSha256: fingerprintHex(der),
    notAfter: Date.parse(details.validTo),
    active: false,
    createdAt: now,
  };
  const privateKeySealed = seal(ctx.masterKey, generated.privateKeyPem, serviceKeyAssociatedData(id));

  await onUniqueViolation(async () => {
    await ctx.database.db.transaction().execute(async (trx) => {
      await lockOrgCertificates(trx, ctx.database.dialect, org.id);
      record.active = await checkRoom(trx, 'service', org, input.alias);
      await insertServiceCertificate(trx, { ...record, privateKeySealed });
      await recordCertificateChange(trx, principal, org, 'service', 'generate', id, { after: { ...auditSummary(record), keySize: details.keySize } }, now);
    });
  }, () => aliasTaken('service', input.alias));
  return certificateView(record, now);
}

/**
 * R-CERT-2: `{alias, certificate}` where the certificate is PEM text, base64 of the DER, or
 * the uploaded file's bytes (PEM or DER).
 */
export async function importOrgCertificate(ctx: AppContext, principal: Principal, org: Org, body: unknown): Promise<CertificateView> {
  gate(principal, org, 'org', 'org:configure');
  const input = parseInput(importSchema, body);
  const parsed = parseUpload(input.certificate);
  const now = ctx.clock.now();
  const details = describeCertificate(parsed.der, now);
  const record: CertificateRecord = {
    id: randomUUID(),
    orgId: org.id,
    kind: 'org',
    alias: input.alias,
    certificatePem: parsed.pem,
    fingerprintSha256: fingerprintHex(parsed.der),
    notAfter: Date.parse(details.validTo),
    active: false,
    createdAt: now,
    source: 'upload',
  };
  await onUniqueViolation(async () => {
    await ctx.database.db.transaction().execute(async (trx) => {
      await lockOrgCertificates(trx, ctx.database.dialect, org.id);
      const existing = await findOrgCertificateByFingerprint(trx, org.id, record.fingerprintSha256);
      if (existing) {
        throw ApiError.conflict(`this certificate is already imported in this organisation as "${existing.alias}"`, 'certificate');
      }
      record.active = await checkRoom(trx, 'org', org, input.alias);
      await insertOrgCertificate(trx, { ...record, source: 'upload' });
      const after = { ...auditSummary(record), subject: details.subject, weak: details.weak, expired: details.expired };
      await recordCertificateChange(trx, principal, org, 'org', 'import', record.id, { after }, now);
    });
  }, () => ApiError.conflict('a certificate with this alias or fingerprint already exists in this organisation', 'alias'));
  return certificateView(record, now);
}

export interface MetadataCertificateImport {
  id: string;
  alias: string;
  /** Lower-case hex SHA-256 of the DER. */
  fingerprintSha256: string;
  /** False when the org already held this certificate (deduplicated by fingerprint). */
  created: boolean;
  active: boolean;
}

/**
 * Imports an IdP signing certificate found in metadata, inside the caller's transaction
 * (the metadata flow's). Deduplicates by fingerprint, marks it `source: 'metadata'`, respects
 * the limit of three (409) and makes it active when it is the org's first. Locks the org and
 * bumps its version, but writes NO audit entry: the caller's single entry for the metadata
 * import should list what this returns. Throws ApiError 422 (field `certificate`) for a
 * certificate fedbridge refuses.
 */
export async function importOrgCertificateFromMetadata(
  ctx: AppContext,
  trx: Transaction<Database>,
  org: Org,
  input: { certificate: string | Buffer; alias?: string },
): Promise<MetadataCertificateImport> {
  const parsed = parseUpload(input.certificate);
  const now = ctx.clock.now();
  const fingerprint = fingerprintHex(parsed.der);
  await lockOrgCertificates(trx, ctx.database.dialect, org.id);
  const existing = await findOrgCertificateByFingerprint(trx, org.id, fingerprint);
  if (existing) return { id: existing.id, alias: existing.alias, fingerprintSha256: fingerprint, created: false, active: existing.active };
  const count = await countCertificates(trx, 'org', org.id);
  if (count >= MAX_CERTIFICATES_PER_KIND) throw limitReached('org');

  const base = (input.alias?.trim() || `metadata-${fingerprint.slice(0, 12)}`).slice(0, 60);
  let chosen = base;
  for (let n = 2; await findCertificateByAlias(trx, 'org', org.id, chosen); n++) chosen = `${base}-${n}`;

  const details = describeCertificate(parsed.der, now);
  const id = randomUUID();
  const active = count === 0;
  await insertOrgCertificate(trx, {
    id,
    orgId: org.id,
    alias: chosen,
    certificatePem: parsed.pem,
    fingerprintSha256: fingerprint,
    notAfter: Date.parse(details.validTo),
    active,
    createdAt: now,
    source: 'metadata',
  });
  await bumpOrgVersion(trx, org.id, now);
  return { id, alias: chosen, fingerprintSha256: fingerprint, created: true, active };
}

export async function listCertificateViews(ctx: AppContext, principal: Principal, org: Org, kind: CertificateKind): Promise<CertificateView[]> {
  gate(principal, org, kind, 'org:read');
  const now = ctx.clock.now();
  return (await listCertificates(ctx.database.db, kind, org.id)).map((r) => certificateView(r, now));
}

export async function getCertificateView(
  ctx: AppContext,
  principal: Principal,
  org: Org,
  kind: CertificateKind,
  id: string,
): Promise<CertificateView> {
  gate(principal, org, kind, 'org:read');
  return certificateView(await loadCertificate(ctx.database.db, kind, org, id), ctx.clock.now());
}

/** R-CERT-3 export: the certificate only, as `.cer` PEM (default) or DER. */
export async function exportCertificateFile(
  ctx: AppContext,
  principal: Principal,
  org: Org,
  kind: CertificateKind,
  id: string,
  format: unknown = 'pem',
): Promise<CertificateFile> {
  gate(principal, org, kind, 'org:read');
  if (format !== 'pem' && format !== 'der') throw ApiError.invalid('format', 'export format must be pem or der');
  const record = await loadCertificate(ctx.database.db, kind, org, id);
  return {
    filename: `${record.alias}.cer`,
    contentType: format === 'der' ? 'application/pkix-cert' : 'application/x-pem-file',
    body: exportCertificate(derOf(record), format),
  };
}

/** Removes an inactive certificate; the active one answers 409 (R-CERT-3). */
export async function removeCertificate(ctx: AppContext, principal: Principal, org: Org, kind: CertificateKind, id: string): Promise<void> {
  gate(principal, org, kind, 'org:configure');
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    await lockOrgCertificates(trx, ctx.database.dialect, org.id);
    const record = await loadCertificate(trx, kind, org, id);
    if (record.active || !(await deleteInactiveCertificate(trx, kind, org.id, id))) {
      throw ApiError.conflict(
        `${NOUN[kind]} "${record.alias}" is the active one and cannot be removed; activate another ${NOUN[kind]} first`,
      );
    }
    await recordCertificateChange(trx, principal, org, kind, 'remove', id, { before: auditSummary(record) }, now);
  });
}

/**
 * Makes one certificate the active one; the previously active one becomes inactive in the
 * same transaction (R-CERT-3). Activating the active certificate changes nothing.
 */
export async function setActiveCertificate(
  ctx: AppContext,
  principal: Principal,
  org: Org,
  kind: CertificateKind,
  id: string,
): Promise<CertificateView> {
  gate(principal, org, kind, 'org:configure');
  const now = ctx.clock.now();
  const record = await ctx.database.db.transaction().execute(async (trx) => {
    await lockOrgCertificates(trx, ctx.database.dialect, org.id);
    const target = await loadCertificate(trx, kind, org, id);
    if (target.active) return target;
    const previous = (await listCertificates(trx, kind, org.id)).find((c) => c.active);
    if (!(await activateCertificate(trx, kind, org.id, id))) throw ApiError.notFound(`${NOUN[kind]} ${id}`);
    await recordCertificateChange(trx, principal, org, kind, 'activate', id, {
          before: { active: previous ? { id: previous.id, alias: previous.alias } : null },
          after: { active: { id: target.id, alias: target.alias } },
        }, now);
    return { ...target, active: true };
  });
  return certificateView(record, now);
}
