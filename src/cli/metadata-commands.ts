import fs from 'node:fs';
import type { Command } from 'commander';
import { ApiError } from '../admin/api-error.js';
import { loadOrgFor } from '../admin/org-service.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { exportSpMetadata, MetadataExportError } from '../saml/metadata-export-flow.js';
import { getMetadataSource, importIdpMetadata, updateMetadataSource } from '../saml/metadata-import-flow.js';
import { refreshOrgMetadata } from '../saml/metadata-refresh.js';
import { assertFederatedWebSsoAvailable } from '../saml/sso-config-service.js';
import { printJson, withContext, withOrg } from './cli-context.js';

function readFile(file: string, field: string): Buffer {
  try {
    return fs.readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw ApiError.invalid(field, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * `metadata …` (R-SAML-7, R-SAML-8, R-ADM-4): import IdP metadata from a file or follow a URL,
 * show where it comes from, refresh it now, stop following, export the SP metadata.
 */
export function registerMetadataCommands(program: Command): void {
  const metadata = program.command('metadata').description('IdP metadata import and SP metadata export (R-SAML-7, R-SAML-8)');

  metadata
    .command('import <slug>')
    .description('import IdP metadata from a file (or - for standard input), or follow a metadata URL')
    .option('--file <file>', 'the metadata XML file')
    .option('--url <url>', 'the metadata URL to follow (https; refreshed on its schedule)')
    .option('--entity-id <entityId>', 'the IdP to take from an EntitiesDescriptor')
    .option('--signing-cert <file>', 'the certificate the metadata must be signed with (PEM or DER)')
    .action((slug: string, o: { file?: string; url?: string; entityId?: string; signingCert?: string }) =>
      withContext(async (ctx) => {
        if ((o.file === undefined) === (o.url === undefined)) throw ApiError.invalid('file', 'give exactly one of --file or --url');
        const org = await loadOrgFor(ctx, CLI_PRINCIPAL, slug);
        printJson(
          await importIdpMetadata(ctx, CLI_PRINCIPAL, org, {
            ...(o.file !== undefined ? { document: readFile(o.file, 'file') } : { url: o.url }),
            entityId: o.entityId,
            ...(o.signingCert !== undefined ? { metadataSigningCertificate: readFile(o.signingCert, 'signingCert') } : {}),
          }),
        );
      }),
    );

  metadata
    .command('source <slug>')
    .description('show where the org\'s IdP metadata comes from, its refresh schedule and last error')
    .action((slug: string) =>
      withOrg(slug, async (ctx, org) => {
        printJson(await getMetadataSource(ctx, CLI_PRINCIPAL, org));
      }),
    );

  metadata
    .command('refresh <slug>')
    .description('fetch the followed metadata URL now')
    .action((slug: string) =>
      withOrg(slug, async (ctx, org) => {
        assertFederatedWebSsoAvailable(org);
        const result = await refreshOrgMetadata(ctx, org.id, 'admin');
        if (result.outcome === 'not-following') throw ApiError.conflict(`${slug} does not follow a metadata URL`);
        printJson(result);
        if (result.outcome === 'failed') process.exitCode = 1;
      }),
    );

  metadata
    .command('unfollow <slug>')
    .description('stop following the metadata URL (configuration and certificates stay)')
    .action((slug: string) =>
      withOrg(slug, async (ctx, org) => {
        printJson(await updateMetadataSource(ctx, CLI_PRINCIPAL, org, { following: false }));
      }),
    );

  metadata
    .command('export <slug>')
    .description('print the SP metadata of the org (what its IdP administrator loads)')
    .option('--signed', 'sign it with the active service certificate')
    .option('--out <file>', 'write it to a file instead of standard output')
    .action((slug: string, o: { signed?: boolean; out?: string }) =>
      withOrg(slug, async (ctx, org) => {
        let xml: string;
        try {
          xml = await exportSpMetadata(ctx, org, { signed: o.signed === true });
        } catch (err) {
          if (err instanceof MetadataExportError) throw new ApiError(err.status, err.message);
          throw err;
        }
        if (o.out) fs.writeFileSync(o.out, `${xml}\n`);
        else process.stdout.write(`${xml}\n`);
      }),
    );
}
