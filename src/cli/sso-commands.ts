import fs from 'node:fs';
import type { Command } from 'commander';
import { ApiError } from '../admin/api-error.js';
import { loadOrgFor } from '../admin/org-service.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { getSsoConfig, updateSsoConfig } from '../saml/sso-config-service.js';
import { printJson, withContext, withOrg } from './cli-context.js';

/** Reads `--json <file>`, or standard input for `-`, as one JSON value. */
function readJsonInput(source: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (err) {
    throw new ApiError(422, `cannot read ${source === '-' ? 'standard input' : source}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(422, `--json input is not valid JSON: ${(err as Error).message}`);
  }
}

/** `sso show <slug>` and `sso set <slug> --json <file|->` (R-SAML-1, R-ADM-4). */
export function registerSsoCommands(program: Command): void {
  const sso = program.command('sso').description('Federated Web SSO configuration (R-SAML-1)');

  sso
    .command('show <slug>')
    .description('print the configuration in force (defaults when never saved)')
    .action((slug: string) =>
      withOrg(slug, async (ctx, org) => {
        printJson(await getSsoConfig(ctx, CLI_PRINCIPAL, org));
      }),
    );

  sso
    .command('set <slug>')
    .description('change the configuration: the JSON object holds the fields to set; others keep their value')
    .requiredOption('--json <file>', 'JSON file with the fields, or - for standard input')
    .action((slug: string, o: { json: string }) =>
      withContext(async (ctx) => {
        const body = readJsonInput(o.json);
        const org = await loadOrgFor(ctx, CLI_PRINCIPAL, slug);
        printJson(await updateSsoConfig(ctx, CLI_PRINCIPAL, org, body));
      }),
    );
}
