import type { Command } from 'commander';
import { createOrg, listOrgsFor, orgView, patchOrg } from '../admin/org-service.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { collect, parseBool, printJson, withContext } from './cli-context.js';

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('organisations (R-ORG-1)');

  org
    .command('create')
    .requiredOption('--slug <domain>', 'primary domain, e.g. example.com')
    .requiredOption('--name <name>', 'display name')
    .option('--domain <domains>', 'extra domains (repeatable or comma-separated)', collect, [])
    .option('--sso', 'SSO Org flag')
    .option('--delegated', 'Delegated Authentication Org flag')
    .action((o: { slug: string; name: string; domain: string[]; sso?: boolean; delegated?: boolean }) =>
      withContext(async (ctx) => {
        const created = await createOrg(ctx, CLI_PRINCIPAL, {
          slug: o.slug,
          name: o.name,
          domains: o.domain,
          ssoEnabled: o.sso ?? false,
          delegatedAuthOrg: o.delegated ?? false,
        });
        printJson(orgView(created));
      }),
    );

  org.command('list').action(() =>
    withContext(async (ctx) => {
      printJson((await listOrgsFor(ctx, CLI_PRINCIPAL)).map(orgView));
    }),
  );

  org
    .command('update <slug>')
    .option('--name <name>')
    .option('--domain <domains>', 'replace the domain list', collect)
    .option('--sso <bool>', 'SSO Org flag', parseBool)
    .option('--delegated <bool>', 'Delegated Authentication Org flag', parseBool)
    .option('--im-logging <bool>', 'IM logging enabled', parseBool)
    .action((slug: string, o: { name?: string; domain?: string[]; sso?: boolean; delegated?: boolean; imLogging?: boolean }) =>
      withContext(async (ctx) => {
        const updated = await patchOrg(ctx, CLI_PRINCIPAL, slug, {
          ...(o.name !== undefined && { name: o.name }),
          ...(o.domain !== undefined && { domains: o.domain }),
          ...(o.sso !== undefined && { ssoEnabled: o.sso }),
          ...(o.delegated !== undefined && { delegatedAuthOrg: o.delegated }),
          ...(o.imLogging !== undefined && { imLoggingEnabled: o.imLogging }),
        });
        printJson(orgView(updated));
      }),
    );
}
