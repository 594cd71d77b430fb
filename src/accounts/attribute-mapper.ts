/**
 * Maps the attributes of a SAML assertion (or WS-Fed claims) onto the guide's attribute table
 * (SPEC R-ACC-1, R-WSF-3; guide 001 "SAML assertion attributes").
 *
 * Precedence when several assertion attributes feed the same one of ours: the org's own
 * `attributeMap` first, then our canonical name, then the built-in synonyms in table order
 * (so `mail` only counts when `email` is absent or empty).
 */
import { SsoError } from '../saml/sso-error.js';

/** Our attribute names, in the guide's order and spelling. */
export const ATTRIBUTE_NAMES = [
  'uid',
  'firstname',
  'lastname',
  'email',
  'groupid',
  'updateTimeStamp',
  'displayName',
  'companyName',
  'businessFax',
  'streetLine1',
  'streetLine2',
  'city',
  'state',
  'zipcode',
  'jobTitle',
  'mobilePhone',
  'businessPhone',
  'employeeid',
  'imloggingenabled',
  'imloggingendpointname',
  'ISOCountry',
  'upgradesite',
  'ssoid',
] as const;

export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

/** Needed to create an account (guide: "UID, email, and first and last name"). */
export const REQUIRED_ATTRIBUTES = ['uid', 'firstname', 'lastname', 'email'] as const satisfies readonly AttributeName[];

/** Attributes with account columns of their own; every other one lives in the account's `attributes`. */
export const CORE_ATTRIBUTES = ['uid', 'firstname', 'lastname', 'email', 'ssoid', 'updateTimeStamp'] as const satisfies readonly AttributeName[];

export interface AttributeDefinition {
  readonly name: AttributeName;
  readonly required: boolean;
  /** The guide's "Usage" column, or our own note where the guide is silent. */
  readonly usage: string;
  /** Other assertion names that map here, highest precedence first (matched case-insensitively). */
  readonly synonyms: readonly string[];
}

const CLAIMS_2005 = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';
const CLAIMS_ADFS = 'http://schemas.xmlsoap.org/claims/';
const CLAIMS_MS_2008 = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/';
const CLAIMS_MS = 'http://schemas.microsoft.com/identity/claims/';
const MACE = 'urn:mace:dir:attribute-def:';

/** An LDAP attribute in its three usual spellings: URI name (SAML 2.0), plain, and Shibboleth SAML 1.1. */
function ldap(name: string, oid?: string): string[] {
  return [...(oid ? [`urn:oid:${oid}`] : []), name, `${MACE}${name}`];
}

/**
 * The guide's table plus the synonyms we accept. Group claims (`…/claims/Group`, `groups`) are
 * deliberately not mapped to `groupid`: they are multi-valued membership lists, and guessing one
 * would silently file new users into the wrong group. Role claims are never mapped at all — SSO
 * never sets a role.
 */
export const ATTRIBUTE_TABLE: readonly AttributeDefinition[] = [
  {
    name: 'uid',
    required: true,
    usage: 'User id; with "Remove uid Domain Suffix" the @domain / DOMAIN\\ part is stripped.',
    synonyms: [
      ...ldap('uid', '0.9.2342.19200300.100.1.1').filter((n) => n !== 'uid'),
      'userid',
      'userPrincipalName',
      'upn',
      `${CLAIMS_2005}upn`,
      `${CLAIMS_ADFS}UPN`,
      ...ldap('eduPersonPrincipalName', '1.3.6.1.4.1.5923.1.1.1.6'),
      `${CLAIMS_2005}name`,
      `${CLAIMS_MS_2008}windowsaccountname`,
      'sAMAccountName',
    ],
  },
  {
    name: 'firstname',
    required: true,
    usage: '',
    synonyms: [...ldap('givenName', '2.5.4.42'), `${CLAIMS_2005}givenname`, 'first_name', 'given_name'],
  },
  {
    name: 'lastname',
    required: true,
    usage: '',
    synonyms: [...ldap('sn', '2.5.4.4'), 'surname', `${CLAIMS_2005}surname`, 'last_name', 'family_name'],
  },
  {
    name: 'email',
    required: true,
    usage: 'Its domain must be one of the organisation\'s domains.',
    synonyms: [
      ...ldap('mail', '0.9.2342.19200300.100.1.3'),
      `${CLAIMS_2005}emailaddress`,
      `${CLAIMS_ADFS}EmailAddress`,
      ...ldap('emailAddress', '1.2.840.113549.1.9.1'),
      'e-mail',
    ],
  },
  { name: 'groupid', required: false, usage: 'Supports only create, not update', synonyms: [] },
  {
    name: 'updateTimeStamp',
    required: false,
    usage: 'No, but recommended. Supports long value, UTC time format, & LDIF time format',
    synonyms: ['whenChanged', ...ldap('modifyTimestamp', '2.5.18.2')],
  },
  {
    name: 'displayName',
    required: false,
    usage: '',
    synonyms: [
      ...ldap('displayName', '2.16.840.1.113730.3.1.241').filter((n) => n !== 'displayName'),
      `${CLAIMS_MS}displayname`,
      `${CLAIMS_ADFS}CommonName`,
      ...ldap('cn', '2.5.4.3'),
      'commonName',
    ],
  },
  {
    name: 'companyName',
    required: false,
    usage: '',
    synonyms: ['company', ...ldap('o', '2.5.4.10'), 'organizationName'],
  },
  {
    name: 'businessFax',
    required: false,
    usage: '',
    synonyms: [...ldap('facsimileTelephoneNumber', '2.5.4.23'), 'fax'],
  },
  {
    name: 'streetLine1',
    required: false,
    usage: '',
    synonyms: [...ldap('street', '2.5.4.9'), 'streetAddress', `${CLAIMS_2005}streetaddress`],
  },
  { name: 'streetLine2', required: false, usage: '', synonyms: [] },
  {
    name: 'city',
    required: false,
    usage: '',
    synonyms: [...ldap('l', '2.5.4.7'), 'localityName', `${CLAIMS_2005}locality`],
  },
  {
    name: 'state',
    required: false,
    usage: '',
    synonyms: [...ldap('st', '2.5.4.8'), 'stateOrProvinceName', `${CLAIMS_2005}stateorprovince`],
  },
  {
    name: 'zipcode',
    required: false,
    usage: '',
    synonyms: [...ldap('postalCode', '2.5.4.17'), `${CLAIMS_2005}postalcode`],
  },
  { name: 'jobTitle', required: false, usage: '', synonyms: ldap('title', '2.5.4.12') },
  {
    name: 'mobilePhone',
    required: false,
    usage: '',
    synonyms: [...ldap('mobile', '0.9.2342.19200300.100.1.41'), `${CLAIMS_2005}mobilephone`],
  },
  { name: 'businessPhone', required: false, usage: '', synonyms: ldap('telephoneNumber', '2.5.4.20') },
  {
    name: 'employeeid',
    required: false,
    usage: '',
    synonyms: ldap('employeeNumber', '2.16.840.1.113730.3.1.3'),
  },
  {
    name: 'imloggingenabled',
    required: false,
    usage: 'When an organization has IMLogging enabled, and if no such attribute exists, it would be set to false.',
    synonyms: [],
  },
  {
    name: 'imloggingendpointname',
    required: false,
    usage:
      'When an organization has IMLogging enabled, and if no such attribute exists, it would be set to wbx_default_endpoint.',
    synonyms: [],
  },
  {
    name: 'ISOCountry',
    required: false,
    usage: '2-letter ISO country code',
    synonyms: [...ldap('c', '2.5.4.6'), 'countryName', 'country', `${CLAIMS_2005}country`],
  },
  {
    name: 'upgradesite',
    required: false,
    usage: 'When not empty, handled like the other attributes by auto account creation and update.',
    // The guide's table spells it "upgrade site".
    synonyms: ['upgrade site'],
  },
  {
    name: 'ssoid',
    required: false,
    usage: 'Stable user identifier; accounts are looked up by it when present (required with Remove uid Domain Suffix).',
    synonyms: [],
  },
];

/** Lower-cased assertion name → [our attribute, precedence rank (lower wins)]. Rank 0 is the org's map. */
const BUILTIN_NAMES: ReadonlyMap<string, { target: AttributeName; rank: number }> = (() => {
  const names = new Map<string, { target: AttributeName; rank: number }>();
  const add = (name: string, target: AttributeName, rank: number): void => {
    const key = name.toLowerCase();
    const seen = names.get(key);
    if (seen && seen.target !== target) throw new Error(`attribute synonym ${name} maps to ${seen.target} and ${target}`);
    if (!seen) names.set(key, { target, rank });
  };
  for (const def of ATTRIBUTE_TABLE) add(def.name, def.name, 1);
  for (const def of ATTRIBUTE_TABLE) def.synonyms.forEach((s, i) => add(s, def.name, 2 + i));
  return names;
})();

const CANONICAL_BY_LOWER: ReadonlyMap<string, AttributeName> = new Map(
  ATTRIBUTE_NAMES.map((n) => [n.toLowerCase(), n]),
);

/** Our attribute for `name` when it is one of ours in any case (`ISOCOUNTRY` → `ISOCountry`), else null. */
export function resolveAttributeName(name: string): AttributeName | null {
  return CANONICAL_BY_LOWER.get(name.trim().toLowerCase()) ?? null;
}

/** Our attribute a built-in name or synonym maps to (ignoring any org map), else null. */
export function builtinAttributeFor(assertionName: string): AttributeName | null {
  return BUILTIN_NAMES.get(assertionName.trim().toLowerCase())?.target ?? null;
}

/** Problems with an org's `attributeMap` (empty when valid) — for the console/API before saving. */
export function validateAttributeMap(attributeMap: Record<string, string>): string[] {
  const problems: string[] = [];
  const seen = new Map<string, AttributeName>();
  for (const [from, to] of Object.entries(attributeMap)) {
    const key = from.trim().toLowerCase();
    if (key === '') {
      problems.push('an assertion attribute name is empty');
      continue;
    }
    const target = resolveAttributeName(to);
    if (!target) {
      problems.push(`"${from}" maps to "${to}", which is not one of ${ATTRIBUTE_NAMES.join(', ')}`);
      continue;
    }
    const earlier = seen.get(key);
    if (earlier && earlier !== target) problems.push(`"${from}" is mapped twice (names match case-insensitively)`);
    seen.set(key, target);
  }
  return problems;
}

export interface RawAttribute {
  readonly name: string;
  readonly values: readonly string[];
}

export interface MappedAttributes {
  /** First non-empty value (trimmed) of each of our attributes the assertion carries. */
  readonly attributes: Readonly<Partial<Record<AttributeName, string>>>;
  /** The assertion attribute name each value came from. */
  readonly sources: Readonly<Partial<Record<AttributeName, string>>>;
  /** Assertion attributes that map to none of ours, as received (for diagnostics; may hold personal data). */
  readonly unmapped: readonly RawAttribute[];
  /** Diagnostics without attribute values: shadowed synonyms, extra values ignored, empty attributes. */
  readonly notes: readonly string[];
}

export interface MapAttributesOptions {
  /** The org's own mapping, assertion name → our attribute; wins over the built-in names. */
  readonly attributeMap?: Record<string, string>;
}

interface Candidate {
  readonly sourceName: string;
  readonly rank: number;
  readonly order: number;
  readonly value: string;
}

/**
 * @throws SsoError SSO_CONFIG when the org's attributeMap names an attribute we do not have
 *   (a broken configuration must not silently drop, say, the e-mail).
 */
export function mapAttributes(raw: ReadonlyArray<RawAttribute>, opts: MapAttributesOptions = {}): MappedAttributes {
  const orgMap = normalizeOrgMap(opts.attributeMap ?? {});
  const best = new Map<AttributeName, Candidate>();
  const unmapped: RawAttribute[] = [];
  const notes: string[] = [];

  raw.forEach((attr, order) => {
    const key = attr.name.trim().toLowerCase();
    const orgTarget = orgMap.get(key);
    const builtin = BUILTIN_NAMES.get(key);
    const target = orgTarget ?? builtin?.target;
    if (target === undefined) {
      unmapped.push({ name: attr.name, values: [...attr.values] });
      return;
    }
    const rank = orgTarget !== undefined ? 0 : (builtin?.rank ?? Number.MAX_SAFE_INTEGER);
    const values = attr.values.map((v) => v.trim()).filter((v) => v !== '');
    const first = values[0];
    if (first === undefined) {
      // Empty counts as absent (R-ACC-3 "present and non-empty"), so a lower-ranked synonym may still fill it.
      notes.push(`${target}: "${attr.name}" is empty`);
      return;
    }
    if (new Set(values).size > 1) notes.push(`${target}: "${attr.name}" has ${values.length} values; the first is used`);
    const candidate: Candidate = { sourceName: attr.name, rank, order, value: first };
    const current = best.get(target);
    if (!current) {
      best.set(target, candidate);
      return;
    }
    const wins = candidate.rank < current.rank || (candidate.rank === current.rank && candidate.order < current.order);
    const [kept, dropped] = wins ? [candidate, current] : [current, candidate];
    best.set(target, kept);
    notes.push(`${target}: "${dropped.sourceName}" ignored, "${kept.sourceName}" takes precedence`);
  });

  const attributes: Partial<Record<AttributeName, string>> = {};
  const sources: Partial<Record<AttributeName, string>> = {};
  for (const name of ATTRIBUTE_NAMES) {
    const c = best.get(name);
    if (c) {
      attributes[name] = c.value;
      sources[name] = c.sourceName;
    }
  }
  return { attributes, sources, unmapped, notes };
}

function normalizeOrgMap(attributeMap: Record<string, string>): Map<string, AttributeName> {
  const problems = validateAttributeMap(attributeMap);
  if (problems.length > 0) throw new SsoError('SSO_CONFIG', `invalid attribute map: ${problems.join('; ')}`);
  const map = new Map<string, AttributeName>();
  for (const [from, to] of Object.entries(attributeMap)) {
    const target = resolveAttributeName(to);
    if (target) map.set(from.trim().toLowerCase(), target);
  }
  return map;
}
