/**
 * What a successful SSO sign-in does to the org's accounts (R-ACC-1 … R-ACC-6): map the
 * assertion's attributes, look the account up, let the pure rules decide, and apply the
 * decision in one transaction with one audit entry (actor `sso`). The SAML ACS and the WS-Fed
 * endpoint call provisionAccount once the assertion is verified.
 *
 * Races are settled by the database, not by the read that preceded the write:
 * - two first sign-ins of one new user: the unique indexes let one insert win; the other
 *   retries, finds the account and signs in (or updates) instead;
 * - two updates: the UPDATE only applies while the stored updateTimeStamp is older, so a
 *   slower, older assertion cannot overwrite a newer profile; the loser decides again.
 */
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { AppContext } from '../app-context.js';
import { SsoError } from '../saml/sso-error.js';
import {
  findAccountById,
  findAccountByNameId,
  findAccountBySsoId,
  insertAccount,
  updateAccount,
  type Account,
} from '../store/accounts.js';
import { recordAudit } from '../store/audit.js';
import { isUniqueViolation, type Executor } from '../store/database.js';
import type { Org } from '../store/orgs.js';
import { mapAttributes, type MappedAttributes, type RawAttribute } from './attribute-mapper.js';
import {
  accountLookupKey,
  decideProvisioning,
  type AccountFields,
  type NewAccountFields,
  type ProvisioningWarning,
} from './provisioning-rules.js';

/** The org's SSO settings provisioning depends on (a subset of its SSO configuration). */
export interface ProvisioningConfig {
  autoAccountCreation: boolean;
  autoAccountUpdate: boolean;
  removeUidDomainSuffix: boolean;
  /** The org's own assertion name → attribute mapping (R-ACC-1). */
  attributeMap?: Record<string, string>;
}

export interface ProvisionAccountInput {
  org: Pick<Org, 'id' | 'domains' | 'imLoggingEnabled'>;
  config: ProvisioningConfig;
  /** The verified assertion's NameID value. */
  nameId: string;
  /** The verified assertion's attributes, as received. */
  rawAttributes: readonly RawAttribute[];
  /** A request-scoped logger (with the correlation id); defaults to ctx.logger. */
  logger?: Logger;
}

export type ProvisioningAction = 'signin' | 'create' | 'update';

export interface ProvisionResult {
  account: Account;
  action: ProvisioningAction;
}

export type ProvisioningContext = Pick<AppContext, 'database' | 'clock' | 'logger'>;

export const SSO_ACTOR = 'sso';

// Each retry follows a write another sign-in won; a handful is far more than real contention needs.
const MAX_ATTEMPTS = 5;

/**
 * @throws SsoError SSO_CONFIG (invalid attribute map), SSO_UID_DOMAIN, SSO_ACCOUNT_INACTIVE,
 *   SSO_NO_ACCOUNT, SSO_MISSING_ATTRIBUTE, SSO_DOMAIN — from the rules, unchanged.
 */
export async function provisionAccount(ctx: ProvisioningContext, input: ProvisionAccountInput): Promise<ProvisionResult> {
  const { org, config, nameId } = input;
  const log = (input.logger ?? ctx.logger).child({ orgId: org.id });
  const mapped = mapAttributes(input.rawAttributes, { attributeMap: config.attributeMap ?? {} });
  // Notes name attributes, never their values.
  if (mapped.notes.length > 0) log.debug({ notes: mapped.notes }, 'assertion attributes mapped with notes');
  const db = ctx.database.db;

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const existing = await lookUpAccount(db, org.id, mapped, nameId);
    const decision = decideProvisioning({
      existing,
      mapped,
      nameId,
      org: { domains: org.domains, imLoggingEnabled: org.imLoggingEnabled },
      config,
    });
    if (attempt === 1) logWarnings(log, decision.warnings);

    if (decision.action === 'signin') {
      log.debug({ accountId: decision.account.id, reason: decision.reason }, 'sso sign-in without account changes');
      return { account: existing!, action: 'signin' };
    }

    const now = ctx.clock.now();
    if (decision.action === 'create') {
      try {
        const account = await createFromSso(ctx, org.id, decision.fields, now);
        log.info({ accountId: account.id }, 'account created by sso');
        return { account, action: 'create' };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Either a concurrent first sign-in of this user won (the next lookup finds it), or
        // another account already holds this uid, e-mail or ssoid: never merge into that one.
        if (!(await lookUpAccount(db, org.id, mapped, nameId))) {
          throw new SsoError('SSO_NO_ACCOUNT', 'the uid, e-mail or ssoid of this user already belongs to another account');
        }
        log.debug({ attempt }, 'concurrent account creation; deciding again');
        continue;
      }
    }

    // decision.account is `existing`, typed as the rules see it; keep the stored form.
    const current = existing!;
    const { fields, changed } = decision;
    let applied: Account | null;
    try {
      applied = await updateFromSso(ctx, org.id, current, fields, changed, now);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // The IdP moved this user onto a uid, e-mail or ssoid another account holds. Signing in
      // to the user's own, unchanged account is safe; taking the other's identifier is not.
      log.warn({ accountId: current.id, changed, code: 'ACCOUNT_UPDATE_CONFLICT' }, 'sso update not applied: identifier held by another account');
      return { account: current, action: 'signin' };
    }
    if (applied) {
      log.info({ accountId: applied.id, changed }, 'account updated by sso');
      return { account: applied, action: 'update' };
    }
    log.debug({ attempt, accountId: current.id }, 'account changed concurrently; deciding again');
  }
  throw new Error(`account of NameID changed concurrently ${MAX_ATTEMPTS} times; giving up`);
}

/**
 * R-ACC-2: by ssoid when the assertion carries one, else by NameID (as uid, then e-mail). A
 * new ssoid falls back to the NameID, so an account made before the IdP released ssoid (by an
 * administrator, an import or earlier SSO) is found and linked on its next update; the rules
 * refuse it if it is already bound to a different ssoid.
 */
async function lookUpAccount(db: Executor, orgId: string, mapped: MappedAttributes, nameId: string): Promise<Account | null> {
  const key = accountLookupKey(mapped, nameId);
  if (key.by === 'ssoid') {
    const bound = await findAccountBySsoId(db, orgId, key.value);
    if (bound) return bound;
  }
  return (await findAccountByNameId(db, orgId, nameId)) ?? null;
}

async function createFromSso(ctx: ProvisioningContext, orgId: string, fields: NewAccountFields, now: number): Promise<Account> {
  return ctx.database.db.transaction().execute(async (trx) => {
    const account = await insertAccount(trx, { id: crypto.randomUUID(), orgId, ...fields, createdAt: now });
    await recordAudit(
      trx,
      {
        orgId,
        actor: SSO_ACTOR,
        action: 'account.create',
        target: `account:${account.id}`,
        // Names of what the assertion set, not its values (they may hold anything an IdP sends).
        details: {
          uid: account.uid,
          role: account.role,
          status: account.status,
          fields: ['uid', 'email', 'firstname', 'lastname', ...(account.ssoId !== null ? ['ssoid'] : []), ...Object.keys(account.attributes).sort(), ...(account.updateTimeStamp !== null ? ['updateTimeStamp'] : [])],
        },
      },
      now,
    );
    return account;
  });
}

/** Null when the guarded update found the account changed (deactivated, or a newer profile applied). */
async function updateFromSso(
  ctx: ProvisioningContext,
  orgId: string,
  current: Account,
  fields: AccountFields,
  changed: string[],
  now: number,
): Promise<Account | null> {
  const stamp = fields.updateTimeStamp;
  if (stamp === null) throw new Error('an sso update always carries its updateTimeStamp');
  return ctx.database.db.transaction().execute(async (trx) => {
    // AccountFields has no role or status: SSO never changes them (R-ACC-3, R-ACC-4).
    const ok = await updateAccount(
      trx,
      orgId,
      current.id,
      {
        uid: fields.uid,
        email: fields.email,
        firstname: fields.firstname,
        lastname: fields.lastname,
        ssoId: fields.ssoId,
        attributes: fields.attributes,
        updateTimeStamp: stamp,
      },
      now,
      { ifActive: true, ifUpdateTimeStampBefore: stamp },
    );
    if (!ok) return null;
    await recordAudit(
      trx,
      { orgId, actor: SSO_ACTOR, action: 'account.update', target: `account:${current.id}`, details: { uid: fields.uid, changed } },
      now,
    );
    return (await findAccountById(trx, orgId, current.id)) ?? null;
  });
}

function logWarnings(log: Logger, warnings: readonly ProvisioningWarning[]): void {
  for (const w of warnings) {
    // The timestamp's value is what an operator needs to fix its format; other values stay out of the log.
    const value = w.code === 'UPDATE_TIMESTAMP_UNPARSABLE' ? { value: w.value } : {};
    log.warn({ code: w.code, attribute: w.attribute, ...value }, 'assertion attribute ignored');
  }
}
