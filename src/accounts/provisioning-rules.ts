/**
 * What an SSO sign-in does to the account (SPEC R-ACC-2 … R-ACC-6): sign in as is, create, or
 * update — or refuse with a stable SsoError code. Pure: the caller looks the account up
 * (accountLookupKey), then applies the decision in one transaction.
 */
import { SsoError } from '../saml/sso-error.js';
import { ATTRIBUTE_NAMES, CORE_ATTRIBUTES, REQUIRED_ATTRIBUTES, type AttributeName, type MappedAttributes } from './attribute-mapper.js';
import { normalizeIsoCountry } from './iso-country-codes.js';
import { parseUpdateTimeStamp } from './update-timestamp.js';

export type AccountStatus = 'active' | 'inactive';
export type AccountRole = 'member' | 'orgAdmin' | 'userAdmin';

/**
 * Attributes kept in `attributes` (keyed by our attribute name) rather than in columns of their own.
 * `groupid` is among them but is only ever written at creation.
 */
export type ProfileAttributeName = Exclude<AttributeName, (typeof CORE_ATTRIBUTES)[number]>;

export interface ExistingAccount {
  id: string;
  uid: string;
  email: string;
  firstname: string;
  lastname: string;
  status: AccountStatus;
  role: AccountRole;
  ssoId: string | null;
  /** Profile attributes keyed by our attribute name (ProfileAttributeName); other keys are preserved. */
  attributes: Record<string, string>;
  /** Epoch ms of the last profile change at the IdP we applied; null when never provided. */
  updateTimeStamp: number | null;
}

/** What SSO may write to an account. Role and status are absent on purpose: SSO never changes them. */
export interface AccountFields {
  uid: string;
  email: string;
  firstname: string;
  lastname: string;
  ssoId: string | null;
  /** The complete attribute map to store (for an update: the stored one merged with the assertion). */
  attributes: Record<string, string>;
  updateTimeStamp: number | null;
}

/** A new account is always an active plain member: SSO never creates an administrator (R-ACC-3). */
export type NewAccountFields = AccountFields & { role: 'member'; status: 'active' };

export type ProvisioningWarningCode =
  | 'UPDATE_TIMESTAMP_UNPARSABLE'
  | 'ISO_COUNTRY_INVALID'
  | 'IM_LOGGING_ENABLED_INVALID';

/** Something the caller should log; the sign-in goes on. `value` is cut to 100 characters. */
export interface ProvisioningWarning {
  code: ProvisioningWarningCode;
  attribute: AttributeName;
  value: string;
}

export type SigninReason =
  | 'administrator-not-updated'
  | 'auto-update-off'
  | 'no-update-timestamp'
  | 'update-timestamp-unparsable'
  | 'update-timestamp-not-newer';

export type ProvisioningDecision =
  | { action: 'signin'; account: ExistingAccount; reason: SigninReason; warnings: ProvisioningWarning[] }
  | { action: 'create'; fields: NewAccountFields; warnings: ProvisioningWarning[] }
  | {
      action: 'update';
      account: ExistingAccount;
      fields: AccountFields;
      /** Names (ours: `firstname`, `city`, `ssoid`, `updateTimeStamp`, …) whose stored value changes. */
      changed: string[];
      warnings: ProvisioningWarning[];
    };

export interface ProvisioningInput {
  /** The account found with accountLookupKey among the org's accounts, or null. */
  existing: ExistingAccount | null;
  mapped: MappedAttributes;
  nameId: string;
  org: { domains: string[]; imLoggingEnabled: boolean };
  config: { autoAccountCreation: boolean; autoAccountUpdate: boolean; removeUidDomainSuffix: boolean };
}

export type AccountLookupKey = { by: 'ssoid'; value: string } | { by: 'nameId'; value: string };

export const DEFAULT_IM_LOGGING_ENABLED = 'false';
export const DEFAULT_IM_LOGGING_ENDPOINT = 'wbx_default_endpoint';

/** Accounts SSO signs in but never alters. */
const ADMIN_ROLES: ReadonlySet<AccountRole> = new Set<AccountRole>(['orgAdmin', 'userAdmin']);

/** What a sign-in creates and updates in `attributes`, in table order: all but the core and `groupid`. */
const NOT_UPDATED: ReadonlySet<AttributeName> = new Set<AttributeName>([...CORE_ATTRIBUTES, 'groupid']);
const PROFILE_ATTRIBUTES = ATTRIBUTE_NAMES.filter((n): n is ProfileAttributeName => !NOT_UPDATED.has(n));

/** R-ACC-2: by `ssoid` when the assertion carries one, else by NameID. */
export function accountLookupKey(mapped: MappedAttributes, nameId: string): AccountLookupKey {
  const ssoid = mapped.attributes.ssoid;
  return ssoid !== undefined ? { by: 'ssoid', value: ssoid } : { by: 'nameId', value: nameId };
}

/** R-ACC-5: `user@corp.example` → `user`, `CORP\user` → `user`, `CORP\user@corp.example` → `user`. */
export function stripUidDomainSuffix(uid: string): string {
  let s = uid.trim();
  const backslash = s.lastIndexOf('\\');
  if (backslash >= 0) s = s.slice(backslash + 1);
  const at = s.lastIndexOf('@');
  if (at >= 0) s = s.slice(0, at);
  return s;
}

/** Lower-cased domain of an e-mail address, or null when it has no local part or no domain. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
}

/**
 * @throws SsoError SSO_UID_DOMAIN, SSO_ACCOUNT_INACTIVE, SSO_NO_ACCOUNT, SSO_MISSING_ATTRIBUTE, SSO_DOMAIN
 */
export function decideProvisioning(input: ProvisioningInput): ProvisioningDecision {
  const { existing, mapped, nameId, config } = input;
  const ssoid = mapped.attributes.ssoid ?? null;

  // The guide: uids need the e-mail domain, so with the suffix removed the user can only be
  // identified by ssoid — refuse before anything else rather than match the wrong account.
  if (config.removeUidDomainSuffix && ssoid === null) {
    throw new SsoError(
      'SSO_UID_DOMAIN',
      '"Remove uid Domain Suffix" is on but the assertion has no ssoid attribute to identify the user',
    );
  }

  if (existing) {
    if (existing.status !== 'active') {
      throw new SsoError('SSO_ACCOUNT_INACTIVE', `account ${existing.id} is deactivated`);
    }
    // Guards a caller that fell back to NameID: never sign in to an account bound to another ssoid.
    if (ssoid !== null && existing.ssoId !== null && existing.ssoId !== ssoid) {
      throw new SsoError('SSO_NO_ACCOUNT', `account ${existing.id} is bound to a different ssoid`);
    }
    return decideUpdate(existing, input);
  }

  if (!config.autoAccountCreation) {
    throw new SsoError('SSO_NO_ACCOUNT', `no account for ${ssoid !== null ? `ssoid ${ssoid}` : `NameID ${nameId}`} and auto account creation is off`);
  }
  return decideCreate(input);
}

function decideCreate({ mapped, org, config }: ProvisioningInput): ProvisioningDecision {
  const a = mapped.attributes;
  const warnings: ProvisioningWarning[] = [];
  const uid = a.uid === undefined ? undefined : config.removeUidDomainSuffix ? stripUidDomainSuffix(a.uid) : a.uid;
  const present: Partial<Record<(typeof REQUIRED_ATTRIBUTES)[number], string>> = {
    uid: uid === '' ? undefined : uid,
    firstname: a.firstname,
    lastname: a.lastname,
    email: a.email,
  };
  const missing = REQUIRED_ATTRIBUTES.filter((name) => present[name] === undefined);
  if (missing.length > 0) {
    throw new SsoError(
      'SSO_MISSING_ATTRIBUTE',
      `auto account creation needs ${REQUIRED_ATTRIBUTES.join(', ')}; missing: ${missing.join(', ')}`,
      missing.join(', '),
    );
  }
  const email = present.email as string;
  assertOrgDomain(email, org.domains);

  const attributes = collectProfileAttributes(mapped, warnings);
  // groupid: "Supports only create, not update".
  if (a.groupid !== undefined) attributes.groupid = a.groupid;
  applyImLoggingDefaults(attributes, org.imLoggingEnabled, {});

  return {
    action: 'create',
    fields: {
      uid: present.uid as string,
      email,
      firstname: present.firstname as string,
      lastname: present.lastname as string,
      ssoId: a.ssoid ?? null,
      attributes,
      // "It updates the first time when the user profile is updated via … Auto Account Creation."
      updateTimeStamp: parseTimestamp(mapped, warnings),
      role: 'member',
      status: 'active',
    },
    warnings,
  };
}

function decideUpdate(existing: ExistingAccount, { mapped, org, config }: ProvisioningInput): ProvisioningDecision {
  const a = mapped.attributes;
  const warnings: ProvisioningWarning[] = [];
  const signin = (reason: SigninReason): ProvisioningDecision => ({ action: 'signin', account: existing, reason, warnings });

  // "No administrator ever created or altered by SSO" (issue 7, R-ACC-3/4): an IdP that controls
  // the assertion must not rewrite who an administrator is (e.g. move its e-mail), so admins sign
  // in as they are and only the users API changes them.
  if (ADMIN_ROLES.has(existing.role)) return signin('administrator-not-updated');
  if (!config.autoAccountUpdate) return signin('auto-update-off');
  if (a.updateTimeStamp === undefined) return signin('no-update-timestamp');
  const stamp = parseTimestamp(mapped, warnings);
  if (stamp === null) return signin('update-timestamp-unparsable');
  if (existing.updateTimeStamp !== null && stamp <= existing.updateTimeStamp) return signin('update-timestamp-not-newer');

  // Absent attributes keep their stored value: an IdP that stops releasing one must not wipe it.
  const uid = a.uid === undefined ? existing.uid : config.removeUidDomainSuffix ? stripUidDomainSuffix(a.uid) || existing.uid : a.uid;
  const email = a.email ?? existing.email;
  if (email !== existing.email) assertOrgDomain(email, org.domains);

  // groupid is not a PROFILE_ATTRIBUTE, so the stored one (or its absence) survives: create only.
  const attributes: Record<string, string> = { ...existing.attributes, ...collectProfileAttributes(mapped, warnings) };
  applyImLoggingDefaults(attributes, org.imLoggingEnabled, existing.attributes);

  const fields: AccountFields = {
    uid,
    email,
    firstname: a.firstname ?? existing.firstname,
    lastname: a.lastname ?? existing.lastname,
    ssoId: a.ssoid ?? existing.ssoId,
    attributes,
    updateTimeStamp: stamp,
  };

  const changed: string[] = [];
  for (const key of ['uid', 'email', 'firstname', 'lastname'] as const) {
    if (fields[key] !== existing[key]) changed.push(key);
  }
  if (fields.ssoId !== existing.ssoId) changed.push('ssoid');
  const keys = new Set([...Object.keys(existing.attributes), ...Object.keys(attributes)]);
  for (const key of [...keys].sort()) {
    if (attributes[key] !== existing.attributes[key]) changed.push(key);
  }
  changed.push('updateTimeStamp');

  // AccountFields carries no role or status either: SSO never changes them (R-ACC-4).
  return { action: 'update', account: existing, fields, changed, warnings };
}

function assertOrgDomain(email: string, orgDomains: readonly string[]): void {
  const domain = emailDomain(email);
  // Exact match only: the guide and spec speak of the org's domains, not of their subdomains.
  const allowed = new Set(orgDomains.map((d) => d.trim().toLowerCase().replace(/\.$/, '')));
  if (domain === null || !allowed.has(domain)) {
    throw new SsoError(
      'SSO_DOMAIN',
      `e-mail domain ${domain ?? '(none)'} is not one of the organisation's domains (${[...allowed].join(', ')})`,
      domain ?? undefined,
    );
  }
}

function parseTimestamp(mapped: MappedAttributes, warnings: ProvisioningWarning[]): number | null {
  const raw = mapped.attributes.updateTimeStamp;
  if (raw === undefined) return null;
  const stamp = parseUpdateTimeStamp(raw);
  if (stamp === null) warnings.push(warning('UPDATE_TIMESTAMP_UNPARSABLE', 'updateTimeStamp', raw));
  return stamp;
}

/**
 * An invalid ISOCountry or imloggingenabled drops that one field with a warning instead of
 * refusing the sign-in: they are optional profile data, and locking users out over a
 * directory typo would punish the user for the IdP's mistake. Required data is never dropped.
 */
function collectProfileAttributes(mapped: MappedAttributes, warnings: ProvisioningWarning[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROFILE_ATTRIBUTES) {
    const value = mapped.attributes[name];
    if (value === undefined) continue;
    if (name === 'ISOCountry') {
      const code = normalizeIsoCountry(value);
      if (code === null) warnings.push(warning('ISO_COUNTRY_INVALID', name, value));
      else out[name] = code;
    } else if (name === 'imloggingenabled') {
      const flag = normalizeBoolean(value);
      if (flag === null) warnings.push(warning('IM_LOGGING_ENABLED_INVALID', name, value));
      else out[name] = flag;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Guide: with IM logging on for the org, absent attributes become false / wbx_default_endpoint. */
function applyImLoggingDefaults(
  attributes: Record<string, string>,
  orgImLogging: boolean,
  stored: Readonly<Record<string, string>>,
): void {
  if (!orgImLogging) return;
  // On update, a value already stored (e.g. set by an admin) counts as existing.
  if (attributes.imloggingenabled === undefined && stored.imloggingenabled === undefined) {
    attributes.imloggingenabled = DEFAULT_IM_LOGGING_ENABLED;
  }
  if (attributes.imloggingendpointname === undefined && stored.imloggingendpointname === undefined) {
    attributes.imloggingendpointname = DEFAULT_IM_LOGGING_ENDPOINT;
  }
}

function normalizeBoolean(value: string): 'true' | 'false' | null {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return 'true';
  if (v === 'false' || v === '0' || v === 'no') return 'false';
  return null;
}

function warning(code: ProvisioningWarningCode, attribute: AttributeName, value: string): ProvisioningWarning {
  return { code, attribute, value: value.length > 100 ? `${value.slice(0, 100)}…` : value };
}
