/**
 * IdP metadata import (R-SAML-7, Appendix A `POST /api/v1/orgs/:org/sso/metadata`): from a
 * document (upload) or a URL the org then follows. Everything an import changes — the
 * Federated Web SSO configuration, the organisation certificates, the metadata source with its
 * last good copy — is written in ONE transaction with ONE audit entry; any refusal (422 bad
 * document, 409 certificate limit) changes nothing.
 *
 * Order of work: the document is fetched, parsed strictly, its signature checked and the IdP
 * read BEFORE the transaction (no lock held over the network); then, under the org
 * certificate lock, certificates and configuration are applied.
 *
 * While an org follows a URL, its organisation certificates ARE the document's signing
 * certificates (at most three): certificates no longer listed are removed, new ones added,
 * and `trustAllCertificates` is switched on so every listed key verifies — an IdP rolling its
 * key over publishes the new one first and fedbridge follows without an administrator.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { authorize, type Principal } from '../admin/principal.js';
import { importOrgCertificateFromMetadata, type MetadataCertificateImport } from '../certs/certificate-service.js';
import { CertificateInputError } from '../certs/certificate-input-error.js';
import { parseCertificateUpload } from '../certs/x509-parser.js';
import { recordAudit } from '../store/audit.js';
import { activateCertificate, hasActiveCertificate, lockOrgCertificates, MAX_CERTIFICATES_PER_KIND } from '../store/certificates.js';
import {
  findMetadataSource,
  removeOrgCertificatesNotIn,
  upsertMetadataSource,
  type MetadataSource,
  type MetadataSourceChanges,
  type RemovedOrgCertificate,
} from '../store/metadata-sources.js';
import { bumpOrgVersion, type Org } from '../store/orgs.js';
import type { Database } from '../store/schema.js';
import { upsertSsoConfig } from '../store/sso-configs.js';
import { parseXmlStrict } from '../xml/strict-parser.js';
import { fetchMetadataDocument, METADATA_MAX_BYTES, type FetchMetadataOptions } from './metadata-fetcher.js';
import { idpSettingsFrom, readIdpMetadata, type IdpMetadata, type IdpSettings } from './metadata/idp-metadata-reader.js';
import { MetadataInputError } from './metadata/metadata-input-error.js';
import { checkMetadataSignature, type MetadataSignatureStatus } from './metadata/metadata-signature.js';
import { changedSsoFields, type SsoConfig } from './sso-config.js';
import { assertFederatedWebSsoAvailable, defaultSsoConfigDeps, loadSsoConfig, mergeSsoConfigInput } from './sso-config-service.js';
import { SsoError } from './sso-error.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Bounds of the refresh interval: never hammer an IdP, never trust a copy older than a day. */
export const MIN_REFRESH_INTERVAL_MS = 5 * MINUTE;
export const MAX_REFRESH_INTERVAL_MS = DAY;
const MAX_ENTITY_ID_LENGTH = 1024;

/** A document read and checked, ready to apply; nothing written yet. */
export interface PreparedMetadata {
  document: string;
  documentSha256: string;
  meta: IdpMetadata;
  settings: IdpSettings;
  /** The signing certificates, parsed (DER) and fingerprinted, in document order. */
  certificates: Array<{ der: Buffer; fingerprintSha256: string }>;
  signature: MetadataSignatureStatus;
  signatureTrusted: boolean;
  signatureReason: string | undefined;
}

export interface ImportedCertificateView {
  id: string;
  alias: string;
  sha256Fingerprint: string;
  active: boolean;
}

export interface MetadataImportResult {
  entityId: string;
  /** Changed configuration fields: `{field: {before, after}}`. */
  changed: Record<string, { before: unknown; after: unknown }>;
  /** Ids of the organisation certificates this import created. */
  certificatesImported: string[];
  /** Ids of organisation certificates removed because a followed document no longer lists them. */
  certificatesRemoved: string[];
  /** Every signing certificate of the document, as the org now holds it. */
  certificates: ImportedCertificateView[];
  signature: MetadataSignatureStatus;
  /** True when verified with the configured metadata-signing certificate. */
  signatureTrusted: boolean;
  signatureReason?: string;
  /** The followed URL, or null for an uploaded document. */
  url: string | null;
  validUntil: string | null;
  nextRefreshAt: string | null;
}

export interface MetadataImportInput {
  /** The metadata document (upload); exclusive with `url`. */
  document?: Buffer | string | undefined;
  /** The metadata URL to follow; exclusive with `document`. */
  url?: string | undefined;
  entityId?: string | undefined;
  /** PEM/DER of the certificate that must sign the metadata; null clears it, undefined keeps the stored one. */
  metadataSigningCertificate?: string | Buffer | null | undefined;
}

export interface MetadataFlowDeps {
  /** Overrides of the fetcher's options (tests: name resolution, CA). */
  fetch?: Partial<FetchMetadataOptions>;
}

/** An input refusal as the admin API answers it. */
export function toApiError(err: MetadataInputError): ApiError {
  return err.status === 409 ? ApiError.conflict(err.message, err.field) : ApiError.invalid(err.field, err.message);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `AB:CD:…`, the form the certificate API shows fingerprints in (R-CERT-3). */
function displayFingerprint(hex: string): string {
  return (hex.match(/../g) ?? []).join(':').toUpperCase();
}

/** The refresh time after a successful fetch: cacheDuration, else daily, within bounds, and well before validUntil. */
export function nextRefreshTime(now: number, meta: Pick<IdpMetadata, 'cacheDurationMs' | 'validUntil'>): number {
  let interval = Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(MIN_REFRESH_INTERVAL_MS, meta.cacheDurationMs ?? DAY));
  if (meta.validUntil !== undefined) interval = Math.min(interval, Math.max(MIN_REFRESH_INTERVAL_MS, (meta.validUntil - now) / 2));
  return now + Math.floor(interval);
}

/** The retry time after the n-th consecutive failed refresh: 5 min, doubling, at most daily. */
export function retryTime(now: number, consecutiveFailures: number): number {
  const exponent = Math.min(Math.max(consecutiveFailures - 1, 0), 20);
  return now + Math.min(MAX_REFRESH_INTERVAL_MS, MIN_REFRESH_INTERVAL_MS * 2 ** exponent);
}

/** A certificate given as the metadata-signing certificate, as canonical PEM (422 naming the field). */
export function parseSigningCertificate(input: string | Buffer): string {
  try {
    return parseCertificateUpload(input).pem;
  } catch (err) {
    if (err instanceof CertificateInputError) throw new MetadataInputError(err.message, 'metadataSigningCertificate');
    throw err;
  }
}

/**
 * Parses and checks a metadata document: strict XML (no DOCTYPE, at most 1 MiB), the
 * signature (refused unless valid when a signing certificate is configured), the chosen IdP,
 * its endpoints and certificates. Throws MetadataInputError; pure apart from the clock value.
 */
export function prepareMetadata(
  input: Buffer | string,
  opts: { entityId?: string | undefined; signingCertificate: string | null; allowSha1: boolean; now: number; follow: boolean },
): PreparedMetadata {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length === 0) throw new MetadataInputError('the metadata document is empty');
  if (bytes.length > METADATA_MAX_BYTES) throw new MetadataInputError(`the metadata document is larger than 1 MiB (${bytes.length} bytes)`);
  let root;
  try {
    root = parseXmlStrict(bytes, { maxBytes: METADATA_MAX_BYTES }).documentElement!;
  } catch (err) {
    if (err instanceof SsoError) throw new MetadataInputError(`the metadata is not acceptable XML: ${err.reason}`);
    throw err;
  }

  const check = checkMetadataSignature(root, { trustedCertificate: opts.signingCertificate, allowSha1: opts.allowSha1 });
  if (opts.signingCertificate) {
    if (check.status === 'none') {
      throw new MetadataInputError('the metadata is not signed, but a metadata signing certificate is configured for this organisation');
    }
    if (check.status === 'invalid') {
      throw new MetadataInputError(`the metadata signature is not valid with the configured metadata signing certificate: ${check.reason}`);
    }
  }

  const meta = readIdpMetadata(check.root, { entityId: opts.entityId, now: opts.now });
  const settings = idpSettingsFrom(meta);
  const certificates = meta.signingCertificates.map((base64, i) => {
    try {
      const { der } = parseCertificateUpload(base64);
      return { der, fingerprintSha256: sha256Hex(der) };
    } catch (err) {
      if (err instanceof CertificateInputError) {
        throw new MetadataInputError(`signing certificate #${i + 1} of "${meta.entityId}" is not usable: ${err.message}`);
      }
      throw err;
    }
  });
  if (opts.follow && certificates.length === 0) {
    // Followed metadata replaces the org's certificates: a document without keys would leave none.
    throw new MetadataInputError(`"${meta.entityId}" lists no signing certificate; a followed metadata document must carry the IdP's keys`);
  }
  if (opts.follow && certificates.length > MAX_CERTIFICATES_PER_KIND) {
    throw new MetadataInputError(
      `the metadata lists ${certificates.length} signing certificates; an organisation holds at most ${MAX_CERTIFICATES_PER_KIND}`,
      'metadata',
      409,
    );
  }
  return {
    document: bytes.toString('utf8'),
    documentSha256: sha256Hex(bytes),
    meta,
    settings,
    certificates,
    signature: check.status,
    signatureTrusted: check.trusted,
    signatureReason: check.reason,
  };
}

export interface ApplyOptions {
  /** Follow `url` (refresh and certificate following), or a one-time upload (null). */
  url: string | null;
  entityId: string | null;
  /** New metadata-signing certificate PEM; null clears; undefined keeps. */
  signingCertificate?: string | null | undefined;
  actor: string;
  action: 'sso.metadata.import' | 'sso.metadata.refresh';
}

interface ApplyOutcome {
  result: MetadataImportResult;
  /** Whether anything but bookkeeping changed (configuration or certificates). */
  changedAnything: boolean;
}

/**
 * Applies prepared metadata to the org inside `trx` (the caller's transaction): certificates,
 * configuration, metadata source, org version, and one audit entry. Throws ApiError (409 over
 * the certificate limit, 422 for a configuration that cannot work), rolling everything back.
 */
export async function applyMetadata(
  trx: Transaction<Database>,
  ctx: AppContext,
  org: Org,
  prepared: PreparedMetadata,
  opts: ApplyOptions,
): Promise<ApplyOutcome> {
  const now = ctx.clock.now();
  const follow = opts.url !== null;
  await lockOrgCertificates(trx, ctx.database.dialect, org.id);

  // Certificates: a followed document replaces the set; an upload adds to it.
  let removed: RemovedOrgCertificate[] = [];
  if (follow) removed = await removeOrgCertificatesNotIn(trx, org.id, prepared.certificates.map((c) => c.fingerprintSha256));
  const imported: MetadataCertificateImport[] = [];
  for (const cert of prepared.certificates) {
    try {
      imported.push(await importOrgCertificateFromMetadata(ctx, trx, org, { certificate: cert.der }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        throw ApiError.conflict(
          `importing the ${prepared.certificates.length} signing certificate(s) of this metadata would pass the limit of ` +
            `${MAX_CERTIFICATES_PER_KIND} organisation certificates; remove one that is not active first`,
          'metadata',
        );
      }
      throw err;
    }
  }
  const first = imported[0];
  if (first && !(await hasActiveCertificate(trx, 'org', org.id))) {
    // The active certificate was dropped by the followed document: its first certificate takes over.
    await activateCertificate(trx, 'org', org.id, first.id);
    first.active = true;
  }
  if (removed.length > 0) await bumpOrgVersion(trx, org.id, now);

  // Configuration.
  const { config: current } = await loadSsoConfig(trx, org.id, ctx.config);
  const body: Partial<SsoConfig> = { protocol: 'saml2', ...prepared.settings.config };
  if (follow) body.trustAllCertificates = true;
  const next = mergeSsoConfigInput(current, body, ctx.config);
  if (next.authnRequestSigned && !(await defaultSsoConfigDeps.hasActiveServiceCertificate(trx, org.id))) {
    throw ApiError.invalid(
      'authnRequestSigned',
      'the IdP wants signed AuthnRequests (WantAuthnRequestsSigned): generate a service certificate under Service Certificate Management first',
    );
  }
  const changedFields = changedSsoFields(current, next);
  if (changedFields.length > 0) {
    await upsertSsoConfig(trx, org.id, next, now);
    await bumpOrgVersion(trx, org.id, now);
  }

  // Metadata source: the last good copy, the schedule, the SLO endpoint.
  const slo = prepared.settings.singleLogoutService;
  const source: MetadataSourceChanges = {
    url: opts.url,
    entityId: opts.entityId,
    document: prepared.document,
    documentSha256: prepared.documentSha256,
    fetchedAt: now,
    validUntil: prepared.meta.validUntil ?? null,
    nextRefreshAt: follow ? nextRefreshTime(now, prepared.meta) : null,
    lastAttemptAt: now,
    lastError: null,
    lastErrorAt: null,
    consecutiveFailures: 0,
    sloLocation: slo?.location ?? null,
    sloBinding: slo?.binding ?? null,
    sloResponseLocation: slo?.responseLocation ?? null,
  };
  if (opts.signingCertificate !== undefined) source.signingCertificate = opts.signingCertificate;
  await upsertMetadataSource(trx, org.id, source, now);

  const created = imported.filter((c) => c.created);
  const changed = Object.fromEntries(changedFields.map((k) => [k, { before: current[k], after: next[k] }]));
  const changedAnything = changedFields.length > 0 || created.length > 0 || removed.length > 0;
  if (opts.action === 'sso.metadata.import' || changedAnything) {
    await recordAudit(
      trx,
      {
        orgId: org.id,
        actor: opts.actor,
        action: opts.action,
        target: `sso:${org.slug}`,
        details: {
          before: Object.fromEntries(changedFields.map((k) => [k, current[k]])),
          after: Object.fromEntries(changedFields.map((k) => [k, next[k]])),
          entityId: prepared.meta.entityId,
          source: opts.url ?? 'upload',
          documentSha256: prepared.documentSha256,
          signature: prepared.signature,
          signatureTrusted: prepared.signatureTrusted,
          certificatesImported: created.map((c) => ({ id: c.id, alias: c.alias, sha256Fingerprint: c.fingerprintSha256 })),
          certificatesRemoved: removed.map((c) => ({ id: c.id, alias: c.alias, sha256Fingerprint: c.fingerprintSha256 })),
        },
      },
      now,
    );
  }

  return {
    changedAnything,
    result: {
      entityId: prepared.meta.entityId,
      changed,
      certificatesImported: created.map((c) => c.id),
      certificatesRemoved: removed.map((c) => c.id),
      certificates: imported.map((c) => ({ id: c.id, alias: c.alias, sha256Fingerprint: displayFingerprint(c.fingerprintSha256), active: c.active })),
      signature: prepared.signature,
      signatureTrusted: prepared.signatureTrusted,
      ...(prepared.signatureReason !== undefined && { signatureReason: prepared.signatureReason }),
      url: opts.url,
      validUntil: prepared.meta.validUntil !== undefined ? new Date(prepared.meta.validUntil).toISOString() : null,
      nextRefreshAt: source.nextRefreshAt ? new Date(source.nextRefreshAt).toISOString() : null,
    },
  };
}

function checkEntityId(entityId: string | undefined): string | undefined {
  if (entityId === undefined) return undefined;
  const v = entityId.trim();
  if (v === '') return undefined;
  if (v.length > MAX_ENTITY_ID_LENGTH) throw new MetadataInputError(`must be at most ${MAX_ENTITY_ID_LENGTH} characters`, 'entityId');
  return v;
}

/** The options the fetcher runs with for this app. */
export function fetchOptionsFor(ctx: AppContext, deps: MetadataFlowDeps = {}): FetchMetadataOptions {
  return { allowPrivate: ctx.config.metadataAllowPrivate, ...deps.fetch };
}

/**
 * POST /api/v1/orgs/:org/sso/metadata and `metadata import`: imports a document or starts
 * following a URL. Answers what changed (Appendix A).
 */
export async function importIdpMetadata(
  ctx: AppContext,
  principal: Principal,
  org: Org,
  input: MetadataImportInput,
  deps: MetadataFlowDeps = {},
): Promise<MetadataImportResult> {
  authorize(principal, 'org:configure', org.id);
  assertFederatedWebSsoAvailable(org);
  try {
    const hasDocument = input.document !== undefined && input.document !== null;
    const hasUrl = input.url !== undefined && input.url !== null && input.url !== '';
    if (hasDocument === hasUrl) {
      throw new MetadataInputError(
        hasDocument ? 'send either the metadata document or {"url"}, not both' : 'send the metadata document (XML body or multipart field "metadata") or {"url"}',
        hasDocument ? 'url' : 'metadata',
      );
    }
    const entityId = checkEntityId(input.entityId);
    const newSigningCertificate =
      input.metadataSigningCertificate === undefined || input.metadataSigningCertificate === null
        ? input.metadataSigningCertificate
        : parseSigningCertificate(input.metadataSigningCertificate);
    const stored = await findMetadataSource(ctx.database.db, org.id);
    const signingCertificate = newSigningCertificate === undefined ? (stored?.signingCertificate ?? null) : newSigningCertificate;
    const { config } = await loadSsoConfig(ctx.database.db, org.id, ctx.config);

    let document: Buffer | string;
    let url: string | null = null;
    if (hasUrl) {
      url = String(input.url).trim();
      document = (await fetchMetadataDocument(url, fetchOptionsFor(ctx, deps))).body;
    } else {
      document = input.document!;
    }
    const prepared = prepareMetadata(document, {
      entityId,
      signingCertificate,
      allowSha1: config.allowSha1,
      now: ctx.clock.now(),
      follow: url !== null,
    });
    const { result } = await ctx.database.db.transaction().execute((trx) =>
      applyMetadata(trx, ctx, org, prepared, {
        url,
        entityId: entityId ?? null,
        signingCertificate: newSigningCertificate,
        actor: principal.actor,
        action: 'sso.metadata.import',
      }),
    );
    return result;
  } catch (err) {
    if (err instanceof MetadataInputError) throw toApiError(err);
    throw err;
  }
}

/** What `GET …/sso/metadata/source` shows; never the whole document. */
export interface MetadataSourceView {
  url: string | null;
  entityId: string | null;
  following: boolean;
  metadataSigningCertificate: { sha256Fingerprint: string } | null;
  documentSha256: string | null;
  fetchedAt: string | null;
  validUntil: string | null;
  nextRefreshAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  singleLogoutService: { binding: string; location: string; responseLocation: string | null } | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function metadataSourceView(source: MetadataSource | undefined): MetadataSourceView {
  let fingerprint: string | null = null;
  if (source?.signingCertificate) fingerprint = sha256Hex(parseCertificateUpload(source.signingCertificate).der);
  return {
    url: source?.url ?? null,
    entityId: source?.entityId ?? null,
    following: Boolean(source?.url),
    metadataSigningCertificate: fingerprint ? { sha256Fingerprint: displayFingerprint(fingerprint) } : null,
    documentSha256: source?.documentSha256 ?? null,
    fetchedAt: iso(source?.fetchedAt ?? null),
    validUntil: iso(source?.validUntil ?? null),
    nextRefreshAt: iso(source?.nextRefreshAt ?? null),
    lastError: source?.lastError ?? null,
    lastErrorAt: iso(source?.lastErrorAt ?? null),
    consecutiveFailures: source?.consecutiveFailures ?? 0,
    singleLogoutService:
      source?.sloLocation && source.sloBinding
        ? { binding: source.sloBinding, location: source.sloLocation, responseLocation: source.sloResponseLocation }
        : null,
  };
}

export async function getMetadataSource(ctx: AppContext, principal: Principal, org: Org): Promise<MetadataSourceView> {
  authorize(principal, 'org:read', org.id);
  assertFederatedWebSsoAvailable(org);
  return metadataSourceView(await findMetadataSource(ctx.database.db, org.id));
}

/**
 * PUT …/sso/metadata/source `{metadataSigningCertificate?: PEM|null, following?: false}`:
 * sets or clears the certificate metadata must be signed with, or stops following the URL
 * (the certificates and configuration stay as they are). One audit entry.
 */
export async function updateMetadataSource(ctx: AppContext, principal: Principal, org: Org, body: unknown): Promise<MetadataSourceView> {
  authorize(principal, 'org:configure', org.id);
  assertFederatedWebSsoAvailable(org);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ApiError.invalid('body', 'must be a JSON object {"metadataSigningCertificate"?: PEM or null, "following"?: false}');
  }
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => k !== 'metadataSigningCertificate' && k !== 'following');
  if (unknown.length > 0) throw ApiError.invalid(unknown[0]!, 'is not a setting of the metadata source');
  if ('following' in input && input.following !== false) {
    throw ApiError.invalid('following', 'can only be set to false (start following by importing {"url"})');
  }
  let signingCertificate: string | null | undefined;
  if ('metadataSigningCertificate' in input) {
    const v = input.metadataSigningCertificate;
    if (v === null || v === '') signingCertificate = null;
    else if (typeof v === 'string') {
      try {
        signingCertificate = parseSigningCertificate(v);
      } catch (err) {
        if (err instanceof MetadataInputError) throw toApiError(err);
        throw err;
      }
    } else throw ApiError.invalid('metadataSigningCertificate', 'must be the certificate as PEM text, or null');
  }
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    const before = metadataSourceView(await findMetadataSource(trx, org.id));
    const changes: MetadataSourceChanges = {};
    if (signingCertificate !== undefined) changes.signingCertificate = signingCertificate;
    if (input.following === false) {
      changes.url = null;
      changes.nextRefreshAt = null;
    }
    await upsertMetadataSource(trx, org.id, changes, now);
    const after = metadataSourceView(await findMetadataSource(trx, org.id));
    await recordAudit(
      trx,
      {
        orgId: org.id,
        actor: principal.actor,
        action: 'sso.metadata.source',
        target: `sso:${org.slug}`,
        details: {
          before: { url: before.url, metadataSigningCertificate: before.metadataSigningCertificate },
          after: { url: after.url, metadataSigningCertificate: after.metadataSigningCertificate },
        },
      },
      now,
    );
  });
  return metadataSourceView(await findMetadataSource(ctx.database.db, org.id));
}
