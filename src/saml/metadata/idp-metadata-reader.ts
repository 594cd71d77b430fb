/**
 * Reads an IdP's SAML 2.0 metadata (saml-metadata-2.0-os) for the import of R-SAML-7: the
 * EntityDescriptor (or the one chosen by entityID inside an EntitiesDescriptor, nested or
 * not), its IDPSSODescriptor supporting the SAML 2.0 protocol, SSO and SLO endpoints,
 * WantAuthnRequestsSigned, NameID formats, signing certificates, validUntil and cacheDuration.
 * Pure: it takes an already strictly-parsed element (for a signed document, the verified
 * signed content) and the time; it decides nothing about the org's configuration beyond
 * `idpSettingsFrom`, which maps the facts onto configuration fields.
 *
 * Other roles are ignored, which is what lets ADFS's FederationMetadata.xml (a
 * SecurityTokenService RoleDescriptor for WS-Federation next to the IDPSSODescriptor) import.
 */
import type { Element } from '@xmldom/xmldom';
import { attributeValue, childElements, isElementNamed, textContent } from '../../xml/dom.js';
import { BINDING, NS } from '../namespaces.js';
import { CONFIGURABLE_NAME_ID_FORMATS, nameIdFormatFromUrn, type NameIdFormat } from '../name-id-formats.js';
import { MetadataInputError } from './metadata-input-error.js';

export interface MetadataEndpoint {
  binding: string;
  location: string;
  responseLocation?: string;
}

export interface IdpMetadata {
  entityId: string;
  ssoServices: MetadataEndpoint[];
  sloServices: MetadataEndpoint[];
  /** The IDPSSODescriptor's WantAuthnRequestsSigned; undefined when the attribute is absent. */
  wantAuthnRequestsSigned: boolean | undefined;
  /** NameIDFormat URNs in document order. */
  nameIdFormats: string[];
  /** base64 DER of every signing certificate (KeyDescriptor use="signing" or without use), deduplicated, in order. */
  signingCertificates: string[];
  /** Earliest validUntil along the path root → entity → role (epoch ms). */
  validUntil: number | undefined;
  /** Shortest cacheDuration along that path (ms). */
  cacheDurationMs: number | undefined;
  /** The entity also has a WS-Federation role (ADFS FederationMetadata.xml). */
  hasWsFedRole: boolean;
}

const SAML2_PROTOCOL = NS.samlp;
const WSFED_NS = 'http://docs.oasis-open.org/wsfed/federation/200706';

/** Listed in a refusal, so an admin sees what to choose from without reading the document. */
const MAX_LISTED_ENTITIES = 5;

interface PathLimits {
  validUntil: number | undefined;
  cacheDurationMs: number | undefined;
}

const DURATION = /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * An xs:duration in milliseconds (years as 365 days, months as 30: a refresh interval needs
 * no calendar). Throws for anything that is not a duration.
 */
export function parseXsDuration(value: string): number {
  const m = DURATION.exec(value.trim());
  if (!m || value.trim() === 'P' || value.trim().endsWith('T')) throw new MetadataInputError(`cacheDuration "${value}" is not an xs:duration such as PT6H`);
  const [, negative, y, mo, d, h, mi, s] = m;
  const ms =
    ((Number(y ?? 0) * 365 + Number(mo ?? 0) * 30 + Number(d ?? 0)) * 86_400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0)) * 1000;
  return negative ? -ms : ms;
}

/** An xs:dateTime in epoch ms; a time without zone is taken as UTC (as SAML requires). */
export function parseXsDateTime(value: string, what: string): number {
  const v = value.trim();
  if (!/^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(v)) {
    throw new MetadataInputError(`${what} "${value}" is not an xs:dateTime such as 2030-01-01T00:00:00Z`);
  }
  const ms = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(ms)) throw new MetadataInputError(`${what} "${value}" is not a valid date`);
  return ms;
}

function narrow(limits: PathLimits, el: Element, now: number): PathLimits {
  let { validUntil, cacheDurationMs } = limits;
  const vu = attributeValue(el, 'validUntil');
  if (vu !== null) {
    const t = parseXsDateTime(vu, `validUntil of <${el.localName}>`);
    if (t <= now) {
      throw new MetadataInputError(`the metadata expired: validUntil ${new Date(t).toISOString()} of <${el.localName}> is in the past`);
    }
    validUntil = validUntil === undefined ? t : Math.min(validUntil, t);
  }
  const cd = attributeValue(el, 'cacheDuration');
  if (cd !== null) {
    const d = parseXsDuration(cd);
    if (d > 0) cacheDurationMs = cacheDurationMs === undefined ? d : Math.min(cacheDurationMs, d);
  }
  return { validUntil, cacheDurationMs };
}

function supportsSaml2(role: Element): boolean {
  return (attributeValue(role, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL);
}

function idpRoleOf(entity: Element): Element | undefined {
  return childElements(entity, NS.md, 'IDPSSODescriptor').find(supportsSaml2);
}

function isWsFedRole(el: Element): boolean {
  if (!isElementNamed(el, NS.md, 'RoleDescriptor')) return false;
  const type = el.getAttributeNS(NS.xsi, 'type') ?? '';
  // The prefix of xsi:type is the document's; the namespace it is bound to is what counts.
  const colon = type.indexOf(':');
  const prefix = colon === -1 ? null : type.slice(0, colon);
  const local = colon === -1 ? type : type.slice(colon + 1);
  return el.lookupNamespaceURI(prefix) === WSFED_NS && (local === 'SecurityTokenServiceType' || local === 'ApplicationServiceType');
}

interface Candidate {
  entity: Element;
  limits: PathLimits;
  /** Why this entity's path has expired; it is refused only if it is the one chosen. */
  expired?: string;
}

/** Every EntityDescriptor under `el` (nested EntitiesDescriptors included), with its path limits. */
function collectEntities(el: Element, limits: PathLimits, now: number, out: Candidate[], expired?: string): void {
  for (const child of childElements(el)) {
    const isEntity = isElementNamed(child, NS.md, 'EntityDescriptor');
    if (!isEntity && !isElementNamed(child, NS.md, 'EntitiesDescriptor')) continue;
    let childLimits = limits;
    let childExpired = expired;
    if (childExpired === undefined) {
      try {
        childLimits = narrow(limits, child, now);
      } catch (err) {
        if (!(err instanceof MetadataInputError)) throw err;
        childExpired = err.message;
      }
    }
    if (isEntity) out.push({ entity: child, limits: childLimits, ...(childExpired !== undefined && { expired: childExpired }) });
    else collectEntities(child, childLimits, now, out, childExpired);
  }
}

function endpoints(role: Element, localName: string): MetadataEndpoint[] {
  return childElements(role, NS.md, localName).flatMap((el) => {
    const binding = attributeValue(el, 'Binding');
    const location = attributeValue(el, 'Location');
    if (!binding || !location) return [];
    const responseLocation = attributeValue(el, 'ResponseLocation');
    return [{ binding, location: location.trim(), ...(responseLocation ? { responseLocation: responseLocation.trim() } : {}) }];
  });
}

function signingCertificates(role: Element): string[] {
  const seen = new Set<string>();
  for (const descriptor of childElements(role, NS.md, 'KeyDescriptor')) {
    const use = attributeValue(descriptor, 'use');
    if (use !== null && use !== 'signing') continue;
    for (const keyInfo of childElements(descriptor, NS.ds, 'KeyInfo')) {
      for (const data of childElements(keyInfo, NS.ds, 'X509Data')) {
        for (const cert of childElements(data, NS.ds, 'X509Certificate')) {
          const base64 = textContent(cert).replace(/\s+/g, '');
          if (base64 !== '') seen.add(base64);
        }
      }
    }
  }
  return [...seen];
}

function parseBoolean(value: string | null, what: string): boolean | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new MetadataInputError(`${what} "${value}" is not a boolean`);
}

/**
 * Reads the IdP described by `root` (an md:EntityDescriptor or md:EntitiesDescriptor). With
 * several IdPs in an aggregate, `entityId` must say which. Throws MetadataInputError (422) for
 * a document that is not metadata, has no SAML 2.0 IdP role, names no usable entity, or has
 * expired (validUntil in the past along the chosen entity's path).
 */
export function readIdpMetadata(root: Element, opts: { entityId?: string | undefined; now: number }): IdpMetadata {
  const rootName = root.localName;
  const rootNs = root.namespaceURI;
  const isEntity = isElementNamed(root, NS.md, 'EntityDescriptor');
  if (!isEntity && !isElementNamed(root, NS.md, 'EntitiesDescriptor')) {
    throw new MetadataInputError(
      `not SAML 2.0 metadata: the root element is <${rootName}> in ${rootNs ? `namespace ${rootNs}` : 'no namespace'}, ` +
        `expected EntityDescriptor or EntitiesDescriptor in ${NS.md}`,
    );
  }
  const rootLimits = narrow({ validUntil: undefined, cacheDurationMs: undefined }, root, opts.now);
  const candidates: Candidate[] = [];
  if (isEntity) candidates.push({ entity: root, limits: rootLimits });
  else collectEntities(root, rootLimits, opts.now, candidates);

  let chosen: Candidate;
  if (opts.entityId !== undefined) {
    const match = candidates.find((c) => attributeValue(c.entity, 'entityID') === opts.entityId);
    if (!match) {
      throw new MetadataInputError(`the document has no EntityDescriptor with entityID "${opts.entityId}"`, 'entityId');
    }
    chosen = match;
  } else {
    const idps = candidates.filter((c) => idpRoleOf(c.entity) !== undefined && c.expired === undefined);
    if (idps.length > 1) {
      const names = idps.slice(0, MAX_LISTED_ENTITIES).map((c) => attributeValue(c.entity, 'entityID'));
      throw new MetadataInputError(
        `the document describes ${idps.length} identity providers; choose one with ?entityId= (for example ${names.map((n) => `"${n}"`).join(', ')})`,
        'entityId',
      );
    }
    const first = idps[0] ?? candidates.find((c) => idpRoleOf(c.entity) !== undefined) ?? candidates[0];
    if (!first) throw new MetadataInputError('the EntitiesDescriptor contains no EntityDescriptor');
    chosen = first;
  }

  const { entity } = chosen;
  if (chosen.expired !== undefined) throw new MetadataInputError(chosen.expired);
  const entityId = attributeValue(entity, 'entityID')?.trim();
  if (!entityId) throw new MetadataInputError('the EntityDescriptor has no entityID');

  const role = idpRoleOf(entity);
  if (!role) {
    const hasIdp = childElements(entity, NS.md, 'IDPSSODescriptor').length > 0;
    throw new MetadataInputError(
      hasIdp
        ? `"${entityId}" has an IDPSSODescriptor, but not for the SAML 2.0 protocol (protocolSupportEnumeration lacks ${SAML2_PROTOCOL})`
        : `"${entityId}" has no identity provider role (no IDPSSODescriptor): is this a service provider's metadata?`,
    );
  }
  const limits = narrow(chosen.limits, role, opts.now);

  return {
    entityId,
    ssoServices: endpoints(role, 'SingleSignOnService'),
    sloServices: endpoints(role, 'SingleLogoutService'),
    wantAuthnRequestsSigned: parseBoolean(attributeValue(role, 'WantAuthnRequestsSigned'), 'WantAuthnRequestsSigned'),
    nameIdFormats: childElements(role, NS.md, 'NameIDFormat').map((el) => textContent(el).trim()).filter(Boolean),
    signingCertificates: signingCertificates(role),
    validUntil: limits.validUntil,
    cacheDurationMs: limits.cacheDurationMs,
    hasWsFedRole: childElements(entity).some(isWsFedRole),
  };
}

/** Redirect first (R-SAML-7), then POST; other bindings (Artifact, SOAP) are not ours. */
const BROWSER_BINDINGS = [BINDING.httpRedirect, BINDING.httpPost] as const;

function preferred(list: MetadataEndpoint[]): MetadataEndpoint | undefined {
  for (const binding of BROWSER_BINDINGS) {
    const found = list.find((e) => e.binding === binding);
    if (found) return found;
  }
  return undefined;
}

/** What an import sets in the Federated Web SSO configuration, and the SLO endpoint it keeps. */
export interface IdpSettings {
  /** Configuration fields (Appendix A names) to merge. */
  config: {
    idpEntityId: string;
    ssoLoginUrl: string;
    ssoLoginBinding: 'redirect' | 'post';
    logoutUrl?: string;
    authnRequestSigned?: boolean;
    authnRequestDestination?: string;
    nameIdFormat?: NameIdFormat;
  };
  /** The IdP's SingleLogoutService (Redirect preferred), for R-SAML-9. */
  singleLogoutService: MetadataEndpoint | undefined;
}

/**
 * Maps the metadata onto configuration fields. Choices where the spec is silent:
 * - `authnRequestSigned` follows WantAuthnRequestsSigned only when the attribute is present:
 *   an absent attribute means "not required", which does not forbid signing an admin chose;
 *   when it is set, the destination is the SSO endpoint (what the guide's "AuthnRequest
 *   Signed Destination" is imported as).
 * - `nameIdFormat` is the first listed format fedbridge can be configured with; none listed
 *   (or only transient) leaves the configured one.
 * - `logoutUrl` is the SLO endpoint when one is declared, else left as configured.
 */
export function idpSettingsFrom(meta: IdpMetadata): IdpSettings {
  const sso = preferred(meta.ssoServices);
  if (!sso) {
    throw new MetadataInputError(
      `"${meta.entityId}" declares no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding`,
    );
  }
  const slo = preferred(meta.sloServices);
  const config: IdpSettings['config'] = {
    idpEntityId: meta.entityId,
    ssoLoginUrl: sso.location,
    ssoLoginBinding: sso.binding === BINDING.httpRedirect ? 'redirect' : 'post',
  };
  if (slo) config.logoutUrl = slo.location;
  if (meta.wantAuthnRequestsSigned !== undefined) {
    config.authnRequestSigned = meta.wantAuthnRequestsSigned;
    if (meta.wantAuthnRequestsSigned) config.authnRequestDestination = sso.location;
  }
  for (const urn of meta.nameIdFormats) {
    const name = nameIdFormatFromUrn(urn);
    if (name && (CONFIGURABLE_NAME_ID_FORMATS as readonly string[]).includes(name)) {
      config.nameIdFormat = name as NameIdFormat;
      break;
    }
  }
  return { config, singleLogoutService: slo };
}
