/**
 * Reading and saving an org's Federated Web SSO configuration (R-SAML-1, R-ORG-2, R-ADM-2).
 * The API routes and the CLI are thin shells around these functions.
 *
 * PUT semantics: the body holds the whole configuration or part of it; fields left out keep
 * their current value (as Keycloak's admin API does), so a client that knows fewer fields
 * than the server cannot erase the others. `""` or null clears an optional field. The merged
 * result must pass every rule of src/saml/sso-config.ts, or nothing is written.
 */
import type { AppContext } from '../app-context.js';
import { ApiError, type FieldError } from '../admin/api-error.js';
import { authorize, type Principal } from '../admin/principal.js';
import { ssoOptionsFor } from '../admin/sso-options.js';
import { parseInput } from '../admin/validation.js';
import { recordAudit } from '../store/audit.js';
import type { Executor } from '../store/database.js';
import { bumpOrgVersion, type Org } from '../store/orgs.js';
import { findSsoConfig, hasActiveServiceCertificate, upsertSsoConfig } from '../store/sso-configs.js';
import {
  changedSsoFields,
  effectiveSsoConfig,
  SSO_CONFIG_FIELDS,
  ssoConfigSchema,
  type SsoConfig,
  type SsoConfigField,
} from './sso-config.js';

export interface SsoConfigDeps {
  /**
   * Whether the org has an active service certificate. Runs on the caller's executor (the
   * open transaction): on SQLite a query on the root handle inside a transaction would wait
   * for that transaction forever.
   */
  hasActiveServiceCertificate(db: Executor, orgId: string): Promise<boolean>;
}

export const defaultSsoConfigDeps: SsoConfigDeps = { hasActiveServiceCertificate };

/** The configuration in force for an org (defaults when never saved); for the sign-in flows. */
export async function loadSsoConfig(
  db: Executor,
  orgId: string,
  config: { publicUrl: string },
): Promise<{ config: SsoConfig; configured: boolean }> {
  const stored = await findSsoConfig(db, orgId);
  return { config: effectiveSsoConfig(stored?.config, config), configured: stored !== undefined };
}

/** 403 unless the org's SSO Related Options (R-ORG-2) include Federated Web SSO. */
export function assertFederatedWebSsoAvailable(org: Org): void {
  if (!ssoOptionsFor(org).includes('federatedWebSso')) {
    throw ApiError.forbidden(
      `Federated Web SSO configuration is not available for ${org.slug}: it is not an SSO organisation ` +
        '(a super administrator can set ssoEnabled)',
    );
  }
}

export async function getSsoConfig(ctx: AppContext, principal: Principal, org: Org): Promise<SsoConfig> {
  authorize(principal, 'org:read', org.id);
  assertFederatedWebSsoAvailable(org);
  return (await loadSsoConfig(ctx.database.db, org.id, ctx.config)).config;
}

/**
 * The configuration `body` would produce over `current`; throws a 422 naming every field at
 * fault (unknown fields included). Does not check the service certificate (needs the store).
 */
export function mergeSsoConfigInput(current: SsoConfig, body: unknown, config: { publicUrl: string }): SsoConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ApiError.invalid('body', 'must be a JSON object with SSO configuration fields');
  }
  const unknown: FieldError[] = Object.keys(body)
    .filter((k) => !(SSO_CONFIG_FIELDS as string[]).includes(k))
    .map((field) => ({ field, message: 'is not a field of the SSO configuration' }));
  if (unknown.length > 0) throw new ApiError(422, `${unknown[0]!.field}: ${unknown[0]!.message}`, unknown);
  return parseInput(ssoConfigSchema(config), { ...current, ...body });
}

export interface SsoConfigWrite {
  config: SsoConfig;
  changed: SsoConfigField[];
}

/**
 * Applies `body` to the org's configuration inside the caller's transaction `trx`: locks the
 * org row (PostgreSQL) so concurrent saves of one org merge one after the other, validates,
 * and — when something changed — writes the row, one audit entry `action` with before/after
 * of the changed fields, and bumps the org version. Throws (and the caller's transaction
 * rolls back) on any refusal. For the PUT route and the metadata import.
 */
export async function writeSsoConfig(
  trx: Executor,
  ctx: AppContext,
  w: { org: Org; principal: Principal; body: unknown; action?: string; deps?: SsoConfigDeps },
): Promise<SsoConfigWrite> {
  const { org } = w;
  if (ctx.database.dialect === 'postgres') {
    await trx.selectFrom('orgs').select('id').where('id', '=', org.id).forNoKeyUpdate().execute();
  }
  const { config: current } = await loadSsoConfig(trx, org.id, ctx.config);
  const next = mergeSsoConfigInput(current, w.body, ctx.config);
  // An active certificate cannot be removed (R-CERT-3), so once seen it stays.
  if (next.authnRequestSigned && !(await (w.deps ?? defaultSsoConfigDeps).hasActiveServiceCertificate(trx, org.id))) {
    throw ApiError.invalid(
      'authnRequestSigned',
      'needs an active service certificate to sign with: generate one under Service Certificate Management first',
    );
  }
  const changed = changedSsoFields(current, next);
  if (changed.length === 0) return { config: current, changed }; // nothing to write, nothing to audit
  const now = ctx.clock.now();
  await upsertSsoConfig(trx, org.id, next, now);
  await recordAudit(
    trx,
    {
      orgId: org.id,
      actor: w.principal.actor,
      action: w.action ?? 'sso.update',
      target: `sso:${org.slug}`,
      details: {
        before: Object.fromEntries(changed.map((k) => [k, current[k]])),
        after: Object.fromEntries(changed.map((k) => [k, next[k]])),
      },
    },
    now,
  );
  await bumpOrgVersion(trx, org.id, now);
  return { config: next, changed };
}

/** PUT /api/v1/orgs/:org/sso and `sso set`. */
export async function updateSsoConfig(
  ctx: AppContext,
  principal: Principal,
  org: Org,
  body: unknown,
  deps: SsoConfigDeps = defaultSsoConfigDeps,
): Promise<SsoConfig> {
  authorize(principal, 'org:configure', org.id);
  assertFederatedWebSsoAvailable(org);
  const result = await ctx.database.db
    .transaction()
    .execute((trx) => writeSsoConfig(trx, ctx, { org, principal, body, deps }));
  return result.config;
}
