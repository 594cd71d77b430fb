/**
 * Federated Web SSO configuration of one organisation (SPEC R-SAML-1, R-WSF-1, Appendix A
 * `GET/PUT /api/v1/orgs/:org/sso`; guide 001 "Federated Web SSO Configuration").
 *
 * The schema checks every field on its own and then refuses, naming the field, a
 * configuration that cannot work. Choices where the spec is silent:
 * - Every URL is absolute http(s), at most 2048 characters, without user:password@ or
 *   #fragment. The IdP endpoints (`ssoLoginUrl`, `authnRequestDestination`, `logoutUrl`) must
 *   be https unless the host is loopback (localhost, *.localhost, 127/8, [::1]) — browsers
 *   carry sign-in messages to them, and the loopback exception is what the demo IdP and tests
 *   need. `defaultTargetUrl` and `errorUrl` are the customer's own pages and may be http.
 * - Identifiers (`spEntityId`, `idpEntityId`, `federationServiceUri`, `wsfedRealm`,
 *   `authnContextClassRef`) are absolute URIs (`urn:…` allowed), at most 1024 characters
 *   (SAML core: entityID is anyURI of at most 1024 characters). They are compared as opaque
 *   strings, so they are only trimmed, never normalized.
 * - Optional text fields are `null` when unset; `""` on input means unset. An empty
 *   `spEntityId` means the service's public base URL, an empty `wsfedRealm` its default.
 * - The SAML 2.0 rules (`spInitiated`/`idpInitiated` need an IdP entity id…) apply to
 *   protocol `saml2`; WS-Federation needs its Federation Service URI and login URL instead.
 * - Both profiles off is a valid, switched-off configuration.
 * - `idpInitiatedTargetParam` null means the RelayState of an IdP-initiated Response is
 *   itself the target candidate (R-SAML-4); a name reads that query/RelayState parameter.
 * - `attributeMap` values are our attribute names in any case and are stored canonically
 *   (`EMAIL` → `email`); keys are assertion attribute names, unique case-insensitively.
 * Whether an active service certificate exists (needed for `authnRequestSigned`) is a
 * database fact, checked by the flow (src/saml/sso-config-service.ts), not here.
 */
import { z } from 'zod';
import { ATTRIBUTE_NAMES, resolveAttributeName } from '../accounts/attribute-mapper.js';
import { CONFIGURABLE_NAME_ID_FORMATS } from './name-id-formats.js';

export const SSO_PROTOCOLS = ['saml2', 'wsfed'] as const;
export const SSO_LOGIN_BINDINGS = ['redirect', 'post'] as const;

export const DEFAULT_CLOCK_SKEW_SECONDS = 180;
export const MAX_CLOCK_SKEW_SECONDS = 600;
/** R-SAML-6: twelve hours. */
export const DEFAULT_MAX_SESSION_SECONDS = 12 * 3600;
/** Guide 003: refresh tokens live 60 days. */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 60 * 24 * 3600;
/** Guide "Configuring for WS-Federation": WebEx Service URI. */
export const DEFAULT_WSFED_REALM = 'urn:federation:webex';

const MAX_URL_LENGTH = 2048;
const MAX_URI_LENGTH = 1024;
const MAX_ATTRIBUTE_MAP_ENTRIES = 100;
const MAX_ATTRIBUTE_NAME_LENGTH = 256;

/** Whitespace and control characters: never valid in a URL or URI we store. */
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f-\u009f\s]/;
/** RFC 3986 scheme followed by something. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:.+$/;
/** A query-parameter name an IdP can put in a URL without encoding. */
const TARGET_PARAM = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Hosts that never leave the machine, for which plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '[::1]';
}

/**
 * Why `value` is not an acceptable URL for the configuration, or undefined when it is.
 * Exported so the metadata import and the console can give the same answers.
 */
export function urlProblem(value: string, opts: { httpsUnlessLoopback: boolean }): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (UNSAFE_CHARACTERS.test(value)) return 'must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://idp.example.com/sso';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (!url.hostname) return 'must name a host';
  if (url.username !== '' || url.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(value)) {
    return 'must not contain a user name or password';
  }
  if (value.includes('#')) return 'must not contain a #fragment';
  if (opts.httpsUnlessLoopback && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return 'must use https (plain http is allowed only for localhost)';
  }
  return undefined;
}

/** Why `value` is not an acceptable identifier URI, or undefined when it is. */
export function uriProblem(value: string): string | undefined {
  if (value.length > MAX_URI_LENGTH) return `must be at most ${MAX_URI_LENGTH} characters`;
  if (UNSAFE_CHARACTERS.test(value)) return 'must not contain spaces or control characters';
  if (!ABSOLUTE_URI.test(value)) return 'must be an absolute URI such as https://idp.example.com or urn:example:idp';
  return undefined;
}

/** `""` and whitespace-only mean "unset"; other strings are trimmed. */
function blankToNull(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  return t === '' ? null : t;
}

const text = (problem: (s: string) => string | undefined) =>
  z.string().superRefine((s, ctx) => {
    const p = problem(s);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

const optional = (inner: z.ZodType<string>) => z.preprocess(blankToNull, inner.nullable()).default(null);

const idpUrl = () => optional(text((s) => urlProblem(s, { httpsUnlessLoopback: true })));
const pageUrl = () => optional(text((s) => urlProblem(s, { httpsUnlessLoopback: false })));
const optionalUri = () => optional(text(uriProblem));
const bool = (fallback: boolean) => z.boolean({ error: 'must be true or false' }).default(fallback);
const seconds = (min: number, max: number, fallback: number) =>
  z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

const attributeMapSchema = z
  .record(z.string(), z.string({ error: 'must be the name of one of our attributes' }), {
    error: 'must be an object {"<assertion attribute>": "<attribute>"}',
  })
  .default({})
  .superRefine((map, ctx) => {
    const entries = Object.entries(map);
    if (entries.length > MAX_ATTRIBUTE_MAP_ENTRIES) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_ATTRIBUTE_MAP_ENTRIES} entries` });
      return;
    }
    const seen = new Set<string>();
    for (const [from, to] of entries) {
      const key = from.trim();
      if (key === '' || key.length > MAX_ATTRIBUTE_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(key)) {
        ctx.addIssue({ code: 'custom', path: [from], message: `an assertion attribute name must be 1–${MAX_ATTRIBUTE_NAME_LENGTH} printable characters` });
        continue;
      }
      if (seen.has(key.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [from], message: 'is mapped twice (assertion attribute names match case-insensitively)' });
      }
      seen.add(key.toLowerCase());
      if (!resolveAttributeName(to)) {
        ctx.addIssue({ code: 'custom', path: [from], message: `"${to}" is not one of ${ATTRIBUTE_NAMES.join(', ')}` });
      }
    }
  })
  // Canonical keys and values, so the stored map reads the same whatever case was typed.
  .transform((map) =>
    Object.fromEntries(Object.entries(map).map(([from, to]) => [from.trim(), resolveAttributeName(to) ?? to])),
  );

/** Field-level rules and defaults; cross-field rules are added by `ssoConfigSchema`. */
function fieldsSchema(publicUrl: string) {
  return z
    .object({
      protocol: z.enum(SSO_PROTOCOLS, { error: 'must be "saml2" or "wsfed"' }).default('saml2'),
      spInitiated: bool(true),
      idpInitiated: bool(false),
      idpInitiatedTargetParam: optional(
        z.string().regex(TARGET_PARAM, 'must be a parameter name: a letter, then letters, digits, "_", "." or "-" (at most 64)'),
      ),
      authnRequestSigned: bool(false),
      authnRequestDestination: idpUrl(),
      spEntityId: z
        .preprocess(blankToNull, text(uriProblem).nullable())
        .default(null)
        .transform((v) => v ?? publicUrl),
      idpEntityId: optionalUri(),
      ssoLoginUrl: idpUrl(),
      ssoLoginBinding: z.enum(SSO_LOGIN_BINDINGS, { error: 'must be "redirect" or "post"' }).default('redirect'),
      nameIdFormat: z
        .enum(CONFIGURABLE_NAME_ID_FORMATS, { error: `must be one of ${CONFIGURABLE_NAME_ID_FORMATS.join(', ')}` })
        .default('unspecified'),
      authnContextClassRef: optionalUri(),
      defaultTargetUrl: pageUrl(),
      errorUrl: pageUrl(),
      singleLogout: bool(false),
      logoutUrl: idpUrl(),
      autoAccountCreation: bool(false),
      autoAccountUpdate: bool(false),
      removeUidDomainSuffix: bool(false),
      clockSkewSeconds: seconds(0, MAX_CLOCK_SKEW_SECONDS, DEFAULT_CLOCK_SKEW_SECONDS),
      allowSha1: bool(false),
      trustAllCertificates: bool(false),
      maxSessionSeconds: seconds(300, 7 * 24 * 3600, DEFAULT_MAX_SESSION_SECONDS),
      refreshTokenTtlSeconds: seconds(3600, 365 * 24 * 3600, DEFAULT_REFRESH_TOKEN_TTL_SECONDS),
      wsfedRealm: z
        .preprocess(blankToNull, text(uriProblem).nullable())
        .default(null)
        .transform((v) => v ?? DEFAULT_WSFED_REALM),
      federationServiceUri: optionalUri(),
      attributeMap: attributeMapSchema,
    })
    .strict();
}

export type SsoConfig = z.output<ReturnType<typeof fieldsSchema>>;
export type SsoConfigField = keyof SsoConfig;
export type SsoProtocol = SsoConfig['protocol'];
export type SsoLoginBinding = SsoConfig['ssoLoginBinding'];

/** The Appendix A field names, in their order. */
export const SSO_CONFIG_FIELDS = Object.keys(fieldsSchema('https://x').shape) as SsoConfigField[];

function requireField(ctx: z.RefinementCtx, ok: unknown, field: SsoConfigField, message: string): void {
  if (ok === null || ok === undefined || ok === false) ctx.addIssue({ code: 'custom', path: [field], message });
}

/** Refuses, naming the field to fix, a configuration that cannot work. */
function checkWorkable(c: SsoConfig, ctx: z.RefinementCtx): void {
  if (c.protocol === 'saml2') {
    if (c.spInitiated) {
      requireField(ctx, c.idpEntityId, 'idpEntityId', 'is required for SP-initiated sign-in (the Issuer the IdP uses)');
      requireField(ctx, c.ssoLoginUrl, 'ssoLoginUrl', 'is required for SP-initiated sign-in (where AuthnRequests are sent)');
    } else if (c.idpInitiated) {
      requireField(ctx, c.idpEntityId, 'idpEntityId', 'is required for IdP-initiated sign-in (the Issuer the IdP uses)');
    }
  } else {
    requireField(ctx, c.federationServiceUri, 'federationServiceUri', 'is required for WS-Federation (the IdP’s issuer)');
    requireField(ctx, c.ssoLoginUrl, 'ssoLoginUrl', 'is required for WS-Federation (where sign-in requests are sent)');
  }
  if (c.authnRequestSigned) {
    requireField(ctx, c.authnRequestDestination, 'authnRequestDestination', 'is required when authnRequestSigned is on');
  }
  if (c.singleLogout) {
    requireField(ctx, c.logoutUrl, 'logoutUrl', 'is required when singleLogout is on (Customer SSO Service Logout URL)');
  }
}

const schemaCache = new Map<string, { fields: ReturnType<typeof fieldsSchema>; full: z.ZodType<SsoConfig> }>();

function schemasFor(publicUrl: string) {
  let s = schemaCache.get(publicUrl);
  if (!s) {
    const fields = fieldsSchema(publicUrl);
    s = { fields, full: fields.superRefine(checkWorkable) };
    schemaCache.set(publicUrl, s);
  }
  return s;
}

/**
 * The schema a saved configuration must pass: strict (unknown fields refused), field rules,
 * defaults for omitted fields (`spEntityId` → `publicUrl`), then the cross-field rules.
 */
export function ssoConfigSchema(opts: { publicUrl: string }): z.ZodType<SsoConfig> {
  return schemasFor(opts.publicUrl).full;
}

/**
 * The configuration in force for an org: the stored one completed with today's defaults
 * (fields added since it was saved), or the defaults for an org never configured. It does not
 * apply the cross-field rules: an unconfigured org's defaults do not work, and the sign-in
 * flows refuse them with SSO_CONFIG.
 * @throws Error when a stored configuration no longer passes the field rules.
 */
export function effectiveSsoConfig(stored: Readonly<Record<string, unknown>> | undefined, config: { publicUrl: string }): SsoConfig {
  const known = Object.fromEntries(
    Object.entries(stored ?? {}).filter(([k]) => (SSO_CONFIG_FIELDS as string[]).includes(k)),
  );
  const parsed = schemasFor(config.publicUrl).fields.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`stored SSO configuration is invalid: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** Fields whose values differ (deep, by JSON), in Appendix A order. */
export function changedSsoFields(before: SsoConfig, after: SsoConfig): SsoConfigField[] {
  return SSO_CONFIG_FIELDS.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}
