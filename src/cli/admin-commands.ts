import type { Command } from 'commander';
import { apiKeyView, createAdministrator, createOrgApiKey } from '../admin/api-key-service.js';
import { ApiError } from '../admin/api-error.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { findOrgBySlug } from '../store/orgs.js';
import { printJson, withContext } from './cli-context.js';

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('administrators (R-ADM-1)');
  admin
    .command('create')
    .requiredOption('--email <email>')
    .option('--name <name>')
    .option('--super', 'super administrator (operator)')
    .option('--org <slug>', 'organisation of an org or user administrator')
    .option('--role <role>', 'orgAdmin or userAdmin (with --org)', 'orgAdmin')
    .action((o: { email: string; name?: string; super?: boolean; org?: string; role: string }) =>
      withContext(async (ctx) => {
        if (!!o.super === !!o.org) throw new ApiError(422, 'give either --super or --org <slug>');
        let orgId: string | null = null;
        if (o.org) {
          const org = await findOrgBySlug(ctx.database.db, o.org);
          if (!org) throw ApiError.notFound(`organisation ${o.org}`);
          orgId = org.id;
        }
        const { adminId, key } = await createAdministrator(ctx, CLI_PRINCIPAL.actor, {
          email: o.email,
          ...(o.name && { name: o.name }),
          role: o.super ? 'super' : o.role,
          orgId,
        });
        printJson({ adminId, apiKey: key });
        process.stderr.write('Keep this API key now: it is stored only as a hash and cannot be shown again.\n');
      }),
    );

  program
    .command('api-key')
    .description('API keys')
    .command('create')
    .requiredOption('--org <slug>')
    .requiredOption('--label <label>')
    .option('--role <role>', 'orgAdmin or userAdmin', 'orgAdmin')
    .action((o: { org: string; label: string; role: string }) =>
      withContext(async (ctx) => {
        const org = await findOrgBySlug(ctx.database.db, o.org);
        if (!org) throw ApiError.notFound(`organisation ${o.org}`);
        const { record, key } = await createOrgApiKey(ctx, CLI_PRINCIPAL, org, { role: o.role, label: o.label });
        printJson({ ...apiKeyView(record), key });
      }),
    );
}
