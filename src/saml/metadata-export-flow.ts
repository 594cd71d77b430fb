/**
 * SP metadata export (R-SAML-8, `GET /sso/:org/saml/metadata[?signed=true]`, CLI `metadata
 * export`): what an IdP administrator loads to trust fedbridge for one organisation. Built
 * from the org's Federated Web SSO configuration and its service certificates (all of them,
 * active first: key rollover), signed on request with the active service key.
 */
import type { AppContext } from '../app-context.js';
import { ssoOptionsFor } from '../admin/sso-options.js';
import type { Org } from '../store/orgs.js';
import { buildSpMetadata } from './metadata/sp-metadata-builder.js';
import { nameIdFormatToUrn } from './name-id-formats.js';
import { signEnveloped } from './post-binding.js';
import { loadSsoConfig } from './sso-config-service.js';

/** Why the export cannot be produced; the route answers `status` with the message. */
export class MetadataExportError extends Error {
  override readonly name = 'MetadataExportError';
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** The SP endpoints of an org, as published and as the ACS and SLO routes check them. */
export function spEndpoints(publicUrl: string, org: Pick<Org, 'slug'>): { acsUrl: string; sloUrl: string; metadataUrl: string } {
  const base = `${publicUrl}/sso/${encodeURIComponent(org.slug)}/saml`;
  return { acsUrl: `${base}/acs`, sloUrl: `${base}/slo`, metadataUrl: `${base}/metadata` };
}

/** A stable ID for the EntityDescriptor (NCName: starts with a letter). */
function descriptorId(org: Org): string {
  return `fedbridge-${org.id.replace(/[^A-Za-z0-9_.-]/g, '')}-v${org.version}`;
}

export async function exportSpMetadata(ctx: AppContext, org: Org, opts: { signed: boolean }): Promise<string> {
  if (!ssoOptionsFor(org).includes('federatedWebSso')) {
    throw new MetadataExportError(404, `${org.slug} is not an SSO organisation`);
  }
  const { config } = await loadSsoConfig(ctx.database.db, org.id, ctx.config);
  const keys = ctx.orgKeys;
  const certificates = await keys.serviceCertificatesForMetadata(org);
  const { acsUrl, sloUrl } = spEndpoints(ctx.config.publicUrl, org);
  const xml = buildSpMetadata({
    entityId: config.spEntityId,
    id: descriptorId(org),
    acsUrl,
    sloUrl,
    authnRequestsSigned: config.authnRequestSigned,
    nameIdFormat: nameIdFormatToUrn(config.nameIdFormat),
    certificates: certificates.map((c) => c.pem),
  });
  if (!opts.signed) return xml;
  const signing = await keys.activeServiceSigning(org);
  if (!signing) {
    throw new MetadataExportError(409, `${org.slug} has no active service certificate to sign its metadata with`);
  }
  return signEnveloped(xml, { key: signing.key, cert: signing.certificatePem });
}
