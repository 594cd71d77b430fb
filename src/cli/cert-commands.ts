import fs from 'node:fs';
import type { Command } from 'commander';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { loadOrgFor } from '../admin/org-service.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { ssoOptionsFor } from '../admin/sso-options.js';
import {
  createServiceCertificate,
  importOrgCertificate,
  listCertificateViews,
  removeCertificate,
  setActiveCertificate,
  type CertificateKind,
} from '../certs/certificate-service.js';
import type { Org } from '../store/orgs.js';
import { printJson, withContext, withOrg } from './cli-context.js';

function kindOf(value: string): CertificateKind {
  if (value === 'service' || value === 'org') return value;
  throw ApiError.invalid('kind', 'must be service or org');
}

/** Commander keeps the raw text; the flow validates the number (422 naming validityDays / keySize). */
function numberOf(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** `--id` or `--alias` → the certificate id. */
async function certificateId(ctx: AppContext, org: Org, kind: CertificateKind, o: { id?: string; alias?: string }): Promise<string> {
  if (o.id) return o.id;
  if (!o.alias) throw ApiError.invalid('id', 'give --id <id> or --alias <alias>');
  const found = (await listCertificateViews(ctx, CLI_PRINCIPAL, org, kind)).find((c) => c.alias === o.alias);
  if (!found) throw ApiError.notFound(`${kind} certificate with alias "${o.alias}"`);
  return found.id;
}

function readCertificateFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw ApiError.invalid('file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `cert …`: service and organisation certificates (R-CERT, R-ADM-4). Private keys are never printed. */
export function registerCertCommands(program: Command): void {
  const cert = program.command('cert').description('service and organisation certificates (R-CERT)');

  cert
    .command('generate')
    .description('generate a self-signed service certificate for an organisation')
    .requiredOption('--org <slug>', 'organisation')
    .requiredOption('--alias <alias>', 'alias, unique in the organisation')
    .requiredOption('--days <n>', 'validity in days (90 … 3652)', numberOf)
    .option('--key-size <bits>', 'RSA key size: 2048 (default), 3072 or 4096', numberOf)
    .action((o: { org: string; alias: string; days: number; keySize?: number }) =>
      withOrg(o.org, async (ctx, org) => {
        printJson(
          await createServiceCertificate(ctx, CLI_PRINCIPAL, org, {
            alias: o.alias,
            validityDays: o.days,
            ...(o.keySize !== undefined && { keySize: o.keySize }),
          }),
        );
      }),
    );

  cert
    .command('import')
    .description("import an organisation certificate (the IdP's signing certificate) from a PEM or DER file")
    .requiredOption('--org <slug>', 'organisation')
    .requiredOption('--alias <alias>', 'alias, unique in the organisation')
    .requiredOption('--file <path>', '.cer / .crt / .pem file')
    .action((o: { org: string; alias: string; file: string }) =>
      withOrg(o.org, async (ctx, org) => {
        printJson(await importOrgCertificate(ctx, CLI_PRINCIPAL, org, { alias: o.alias, certificate: readCertificateFile(o.file) }));
      }),
    );

  cert
    .command('list')
    .description("list an organisation's certificates")
    .requiredOption('--org <slug>', 'organisation')
    .option('--kind <kind>', 'service or org (default: both, as far as the organisation offers them)')
    .action((o: { org: string; kind?: string }) =>
      withOrg(o.org, async (ctx, org) => {
        if (o.kind !== undefined) {
          printJson(await listCertificateViews(ctx, CLI_PRINCIPAL, org, kindOf(o.kind)));
          return;
        }
        const options = ssoOptionsFor(org);
        printJson({
          ...(options.includes('serviceCertificates') && {
            serviceCertificates: await listCertificateViews(ctx, CLI_PRINCIPAL, org, 'service'),
          }),
          ...(options.includes('orgCertificates') && { orgCertificates: await listCertificateViews(ctx, CLI_PRINCIPAL, org, 'org') }),
        });
      }),
    );

  for (const [name, description] of [
    ['activate', 'make a certificate the active one (the previous one becomes inactive)'],
    ['remove', 'remove a certificate that is not active'],
  ] as const) {
    cert
      .command(name)
      .description(description)
      .requiredOption('--org <slug>', 'organisation')
      .requiredOption('--kind <kind>', 'service or org')
      .option('--id <id>', 'certificate id')
      .option('--alias <alias>', 'certificate alias (instead of --id)')
      .action((o: { org: string; kind: string; id?: string; alias?: string }) =>
        withContext(async (ctx) => {
          const kind = kindOf(o.kind);
          const org = await loadOrgFor(ctx, CLI_PRINCIPAL, o.org);
          const id = await certificateId(ctx, org, kind, o);
          if (name === 'activate') {
            printJson(await setActiveCertificate(ctx, CLI_PRINCIPAL, org, kind, id));
          } else {
            await removeCertificate(ctx, CLI_PRINCIPAL, org, kind, id);
            printJson({ removed: id });
          }
        }),
      );
  }
}
