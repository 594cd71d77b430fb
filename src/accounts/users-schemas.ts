/**
 * Input of the users API, CLI and CSV import (R-ACC-7), validated at the edge: every refusal
 * is a 422 naming the field. The e-mail domain rule needs the org, hence schema factories.
 */
import { z } from 'zod';
import { ATTRIBUTE_NAMES, CORE_ATTRIBUTES, resolveAttributeName, type AttributeName } from './attribute-mapper.js';
import { normalizeIsoCountry } from './iso-country-codes.js';
import { emailDomain } from './provisioning-rules.js';
import { parseUpdateTimeStamp } from './update-timestamp.js';

const CORE: ReadonlySet<AttributeName> = new Set(CORE_ATTRIBUTES);

/** Keys an administrator may set in `attributes`: `groupid` and the profile attributes, in table order. */
export const ACCOUNT_ATTRIBUTE_NAMES: readonly AttributeName[] = ATTRIBUTE_NAMES.filter((n) => !CORE.has(n));

export const ACCOUNT_ROLES = ['member', 'orgAdmin', 'userAdmin'] as const;
export const ACCOUNT_STATUSES = ['active', 'inactive'] as const;

// Control characters have no place in names or identifiers and break CSV exports and logs.
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`).regex(NO_CONTROL, 'must not contain control characters');

const uid = text(256);
const personName = text(100);
const ssoId = text(256).nullable();

const emailFormat = z.email();

function emailIn(domains: readonly string[]) {
  const allowed = new Set(domains.map((d) => d.trim().toLowerCase().replace(/\.$/, '')));
  return z
    .string()
    .trim()
    .max(254, 'at most 254 characters')
    .superRefine((e, ctx) => {
      // One message per problem: a malformed address is not also told about domains.
      if (!emailFormat.safeParse(e).success) {
        ctx.addIssue({ code: 'custom', message: 'must be an e-mail address' });
      } else if (!allowed.has(emailDomain(e) ?? '')) {
        ctx.addIssue({ code: 'custom', message: `must be in one of the organisation's domains (${[...allowed].join(', ')})` });
      }
    });
}

/** Epoch ms, ISO-8601 UTC or LDIF generalized time (R-ACC-4), or null for none. */
const updateTimeStamp = z
  .union([z.number().int().min(0), z.string(), z.null()], { error: 'must be a timestamp or null' })
  .transform((v, ctx) => {
    if (v === null || typeof v === 'number') return v;
    const ms = parseUpdateTimeStamp(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds, UTC ISO-8601 or LDIF generalized time' });
      return z.NEVER;
    }
    return ms;
  });

/** One attribute value, normalized like SSO would (ISOCountry upper-case, imloggingenabled true/false). */
function normalizeAttributeValue(name: AttributeName, value: string): string | null {
  if (name === 'ISOCountry') return normalizeIsoCountry(value);
  if (name === 'imloggingenabled') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return 'true';
    if (['false', '0', 'no'].includes(v)) return 'false';
    return null;
  }
  return value.trim();
}

/**
 * `attributes`: keys matched case-insensitively to ours and rewritten to our spelling; a value
 * of null or '' removes the attribute (only meaningful on update).
 */
const attributes = z
  .record(z.string(), z.union([z.string().max(1024, 'at most 1024 characters').regex(NO_CONTROL, 'must not contain control characters'), z.null()], { error: 'must be a string or null' }))
  .transform((input, ctx) => {
    const out: Record<string, string | null> = {};
    for (const [key, raw] of Object.entries(input)) {
      const name = resolveAttributeName(key);
      if (name === null || CORE.has(name)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `not an account attribute; expected one of ${ACCOUNT_ATTRIBUTE_NAMES.join(', ')}` });
        continue;
      }
      if (name in out) {
        ctx.addIssue({ code: 'custom', path: [key], message: `given twice (attribute names match case-insensitively)` });
        continue;
      }
      if (raw === null || raw.trim() === '') {
        out[name] = null;
        continue;
      }
      const value = normalizeAttributeValue(name, raw);
      if (value === null) {
        const expected = name === 'ISOCountry' ? 'an ISO 3166-1 alpha-2 country code' : 'true or false';
        ctx.addIssue({ code: 'custom', path: [key], message: `must be ${expected}` });
        continue;
      }
      out[name] = value;
    }
    return out;
  });

export function createAccountSchema(orgDomains: readonly string[]) {
  return z
    .object({
      uid,
      email: emailIn(orgDomains),
      firstname: personName,
      lastname: personName,
      role: z.enum(ACCOUNT_ROLES, { error: 'must be member, orgAdmin or userAdmin' }).default('member'),
      status: z.enum(ACCOUNT_STATUSES, { error: 'must be active or inactive' }).default('active'),
      ssoId: ssoId.optional(),
      updateTimeStamp: updateTimeStamp.optional(),
      attributes: attributes.optional(),
    })
    .strict();
}
export type CreateAccountInput = z.infer<ReturnType<typeof createAccountSchema>>;

/** Status changes go through deactivate/reactivate, which revoke sessions and guard the primary administrator. */
export function patchAccountSchema(orgDomains: readonly string[]) {
  return z
    .object({
      uid: uid.optional(),
      email: emailIn(orgDomains).optional(),
      firstname: personName.optional(),
      lastname: personName.optional(),
      role: z.enum(ACCOUNT_ROLES, { error: 'must be member, orgAdmin or userAdmin' }).optional(),
      ssoId: ssoId.optional(),
      updateTimeStamp: updateTimeStamp.optional(),
      attributes: attributes.optional(),
    })
    .strict();
}
export type PatchAccountInput = z.infer<ReturnType<typeof patchAccountSchema>>;

// An empty search box (`?q=`) means "no filter", as a form submits it.
const blankAsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const queryText = z.preprocess(blankAsAbsent, z.string().trim().max(256, 'at most 256 characters').optional());

export const searchAccountsSchema = z
  .object({
    uid: queryText,
    email: queryText,
    q: queryText,
    status: z.preprocess(blankAsAbsent, z.enum(ACCOUNT_STATUSES, { error: 'must be active or inactive' }).optional()),
    page: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be 1 or more').max(1_000_000).default(1),
    pageSize: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be 1 or more').max(200, 'at most 200').default(50),
  })
  .strict();
export type SearchAccountsInput = z.infer<typeof searchAccountsSchema>;
