/**
 * NameID formats: the short names the configuration uses (SPEC R-SAML-1, Appendix A) and the
 * SAML URNs that go on the wire. `transient` is never configurable (an account cannot be keyed
 * on it) but is known so a parsed NameID can be named in an error.
 */
export const NAME_ID_FORMAT_URN = {
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  x509SubjectName: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName',
  entity: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
} as const;

export type KnownNameIdFormat = keyof typeof NAME_ID_FORMAT_URN;

/** The formats an administrator may configure. */
export const CONFIGURABLE_NAME_ID_FORMATS = [
  'unspecified',
  'emailAddress',
  'x509SubjectName',
  'entity',
  'persistent',
] as const;

export type NameIdFormat = (typeof CONFIGURABLE_NAME_ID_FORMATS)[number];

export function isNameIdFormat(value: unknown): value is NameIdFormat {
  return typeof value === 'string' && (CONFIGURABLE_NAME_ID_FORMATS as readonly string[]).includes(value);
}

export function nameIdFormatToUrn(format: NameIdFormat): string {
  return NAME_ID_FORMAT_URN[format];
}

const BY_URN: ReadonlyMap<string, KnownNameIdFormat> = new Map(
  (Object.entries(NAME_ID_FORMAT_URN) as [KnownNameIdFormat, string][]).map(([name, urn]) => [urn, name]),
);

/**
 * The short name of a NameID Format URN, or undefined for a URN we do not know. Exact match:
 * URNs are compared as opaque strings (SAML core §8.3).
 */
export function nameIdFormatFromUrn(urn: string): KnownNameIdFormat | undefined {
  return BY_URN.get(urn);
}

/**
 * Whether a NameID's Format attribute satisfies the configured format. An absent Format means
 * `unspecified` (SAML core §2.2.2); a configured `unspecified` accepts any format (R-SAML-3).
 */
export function nameIdFormatMatches(configured: NameIdFormat, received: string | null | undefined): boolean {
  if (configured === 'unspecified') return true;
  return (received ?? NAME_ID_FORMAT_URN.unspecified) === NAME_ID_FORMAT_URN[configured];
}
